"""The pipebook workbench server: Debian's jupyter-server + jupyterlab-server serving the
JupyterLab front end bundled in ./build (no Python `jupyterlab` package needed).

Run by start.mjs with /usr/bin/python3. Besides the lab page it forwards
``<base_url>pipebook/api/*`` to a ``pipebook serve`` REST server, adding that server's bearer
token here, so the browser authenticates to Jupyter only and never sees the engine token.
Environment: PIPEBOOK_API_URL (the REST server's base URL) and PIPEBOOK_API_TOKEN; when unset,
the page has no pipebook server and the side panel says so.
"""
import inspect
import json
import os

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join as ujoin
from jupyterlab_server import LabServerApp
from tornado import httpclient, web

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
RUNTIME = os.environ.get("PIPEBOOK_LAB_RUNTIME", os.path.join(HERE, "runtime"))

# Configuration files on this machine must not change what the workbench is.
os.environ["JUPYTER_NO_CONFIG"] = "1"

with open(os.path.join(HERE, "..", "package.json"), encoding="utf-8") as fid:
    VERSION = json.load(fid)["version"]

API_PREFIX = "pipebook/api"
# Hop-by-hop and auth headers are not forwarded in either direction.
DROPPED_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "authorization", "cookie", "host", "x-xsrftoken", "content-encoding"}


class PipebookApiProxy(JupyterHandler):
    """Forwards GET/POST to the pipebook REST server; streams replies (the SSE event stream)."""

    @property
    def upstream(self):
        return self.settings["pipebook_api_url"], self.settings["pipebook_api_token"]

    async def prepare(self):
        # An API answers 403 to an unauthenticated caller (no login redirect), like /api/*.
        result = super().prepare()
        if inspect.isawaitable(result):
            await result
        if not self.current_user:
            raise web.HTTPError(403)

    async def get(self, path):
        await self._forward("GET", path)

    async def post(self, path):
        await self._forward("POST", path)

    async def _forward(self, method, path):
        base, token = self.upstream
        if not base:
            self.set_status(503)
            self.finish({"error": "No pipebook server is running beside this workbench."})
            return
        url = base.rstrip("/") + "/" + path
        if self.request.query:
            url += "?" + self.request.query
        headers = {k: v for k, v in self.request.headers.get_all() if k.lower() not in DROPPED_HEADERS}
        headers["Authorization"] = "Bearer " + token
        started = False

        def on_header(line):
            nonlocal started
            line = line.strip()
            if line.startswith("HTTP/"):
                parts = line.split(" ", 2)
                self.set_status(int(parts[1]), parts[2] if len(parts) > 2 else None)
            elif ":" in line:
                name, value = line.split(":", 1)
                if name.strip().lower() not in DROPPED_HEADERS:
                    self.set_header(name.strip(), value.strip())

        def on_chunk(chunk):
            nonlocal started
            started = True
            self.write(chunk)
            self.flush()

        request = httpclient.HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=self.request.body if method == "POST" else None,
            header_callback=on_header,
            streaming_callback=on_chunk,
            request_timeout=0,
            connect_timeout=10,
            decompress_response=False,
        )
        try:
            await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except Exception as error:  # the upstream is down or reset the stream
            if not started:
                self.clear()
                self.set_status(502)
                self.finish({"error": "The pipebook server cannot be reached: %s" % error})
                return
        if not self._finished:
            self.finish()


class PipebookLabApp(LabServerApp):
    name = "pipebook_lab"
    app_name = "pipebook workbench"
    app_version = VERSION
    extension_url = "/lab"
    default_url = "/lab"
    app_url = "/lab"
    load_other_extensions = False
    app_settings_dir = os.path.join(BUILD, "application_settings")
    schemas_dir = os.path.join(BUILD, "schemas")
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    themes_dir = os.path.join(BUILD, "themes")
    user_settings_dir = os.path.join(RUNTIME, "user_settings")
    workspaces_dir = os.path.join(RUNTIME, "workspaces")

    def initialize_settings(self):
        super().initialize_settings()
        api_url = os.environ.get("PIPEBOOK_API_URL", "")
        self.settings["pipebook_api_url"] = api_url
        self.settings["pipebook_api_token"] = os.environ.get("PIPEBOOK_API_TOKEN", "")
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        if api_url:
            page_config["pipebookApiUrl"] = API_PREFIX + "/"

    def initialize_handlers(self):
        super().initialize_handlers()
        # ExtensionApp prefixes the server's base_url to every pattern.
        self.handlers.append((ujoin("/", API_PREFIX, "(.*)"), PipebookApiProxy))


def _jupyter_server_extension_points():
    return [{"module": "pipebook_lab", "app": PipebookLabApp}]


def main():
    PipebookLabApp.launch_instance()


if __name__ == "__main__":
    # jupyter-server finds an extension by its module name; run as a script this file is
    # `__main__`, so start the app from the module imported under its own name.
    import pipebook_lab

    pipebook_lab.main()
