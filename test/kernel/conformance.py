"""Jupyter's standard kernel conformance suite (jupyter_kernel_test) against the pipebook kernel.

Run by conformance.test.ts with JUPYTER_PATH pointing at a temporary kernelspec folder, so the
user's own kernelspecs are never touched. The kernel name comes from PIPEBOOK_TEST_KERNEL.
"""
import os
import unittest

import jupyter_kernel_test


class PipebookKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("PIPEBOOK_TEST_KERNEL", "pipebook")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The suite allows 15 s per request; the first cell waits for TypeScript to load, which on
        # a loaded CI machine can take longer. Warm up once, with room, before the suite starts.
        cls.kc.execute_interactive("0", timeout=180)
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_page_something = "?Math.max"
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "const xs: number[] = [1, 2, 3]; xs.map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    code_display_data = [
        {"code": 'display.html("<b>hi</b>")', "mime": "text/html"},
        {"code": 'display.png("iVBORw0KGgo=")', "mime": "image/png"},
        {"code": 'display.bundle({"application/vnd.pipebook.run+json": {"version": 1}, "text/plain": "run"})', "mime": "application/vnd.pipebook.run+json"},
    ]
    code_clear_output = "clearOutput()"
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.max"

    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "const completeMeLater = 1; completeM", "matches": {"completeMeLater"}},
    ]
    complete_code_samples = ["1 + 1", "const a = 1;", "function f() { return 1 }", "%typecheck report"]
    incomplete_code_samples = ["function f() {", "const a = [1,", "`open template"]
    invalid_code_samples = ["1 +* 2", "const = 5", ")"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
