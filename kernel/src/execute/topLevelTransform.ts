import { ts, type TS } from "./typescript.js";

/**
 * Turns a cell's emitted JavaScript (ES module syntax) into a script that runs in the kernel's
 * global scope:
 *
 *   var a, b;  (async () => { "use strict"; ...body...; return (lastExpression) })()
 *
 * Top-level declarations become assignments to script-level `var`s, so they persist across cells
 * and a later cell may declare the same `const` again (as notebook users expect). Static imports
 * become awaited dynamic imports resolved from the notebook's directory. Edits keep every line on
 * its line, so the TypeScript source map still gives the right line for stack traces.
 */
export interface TransformedCell {
  readonly code: string;
  /** The cell ends with an expression whose value is the cell's result. */
  readonly hasResult: boolean;
}

interface Edit { readonly start: number; readonly end: number; readonly text: string; order?: number }

export function toScript(js: string, importFn: string): TransformedCell {
  const sf = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  const vars = new Set<string>();
  const hoistedFunctions: string[] = [];
  const keepNewlines = (s: number, e: number): string => js.slice(s, e).replace(/[^\n]/g, "");
  const bindingNames = (b: TS.BindingName): void => {
    if (ts.isIdentifier(b)) vars.add(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name);
  };
  const dropExport = (n: TS.Node): void => {
    if (!ts.canHaveModifiers(n)) return;
    for (const m of ts.getModifiers(n) ?? []) {
      if (m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword) {
        edits.push({ start: m.getStart(sf), end: m.getEnd(), text: "" });
      }
    }
  };

  // Dynamic import() anywhere in the cell resolves through the kernel, from the notebook's folder.
  const visit = (n: TS.Node): void => {
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      edits.push({ start: n.expression.getStart(sf), end: n.expression.getEnd(), text: importFn });
    }
    ts.forEachChild(n, visit);
  };

  const statements = sf.statements;
  let lastExpr: TS.ExpressionStatement | undefined;
  // TypeScript appends `export {};` to keep a file a module; it is not the cell's last statement.
  const meaningful = statements.filter((st) => !ts.isExportDeclaration(st) && !ts.isEmptyStatement(st));
  const last = meaningful[meaningful.length - 1];
  if (last && ts.isExpressionStatement(last)) lastExpr = last;

  for (const st of statements) {
    if (ts.isImportDeclaration(st)) {
      const spec = (st.moduleSpecifier as TS.StringLiteral).text;
      const call = `await ${importFn}(${JSON.stringify(spec)})`;
      const c = st.importClause;
      let text: string;
      if (!c) text = `${call};`;
      else {
        const parts: string[] = [];
        const nb = c.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) {
          vars.add(nb.name.text);
          text = `(${nb.name.text} = ${call}${c.name ? `, ${c.name.text} = ${nb.name.text}.default` : ""});`;
          if (c.name) vars.add(c.name.text);
        } else {
          if (c.name) { vars.add(c.name.text); parts.push(`default: ${c.name.text}`); }
          if (nb && ts.isNamedImports(nb)) {
            for (const e of nb.elements) {
              if (e.isTypeOnly) continue;
              vars.add(e.name.text);
              const imported = e.propertyName ? e.propertyName.getText(sf) : e.name.text;
              parts.push(imported === e.name.text ? e.name.text : `${imported}: ${e.name.text}`);
            }
          }
          text = `({ ${parts.join(", ")} } = ${call});`;
        }
      }
      edits.push({ start: st.getStart(sf), end: st.getEnd(), text: text + keepNewlines(st.getStart(sf), st.getEnd()) });
      continue;
    }
    if (ts.isExportDeclaration(st)) {
      edits.push({ start: st.getStart(sf), end: st.getEnd(), text: keepNewlines(st.getStart(sf), st.getEnd()) });
      continue;
    }
    if (ts.isExportAssignment(st)) {
      edits.push({ start: st.getStart(sf), end: st.expression.getStart(sf), text: "" });
      visit(st.expression);
      continue;
    }
    if (ts.isVariableStatement(st)) {
      dropExport(st);
      const list = st.declarationList;
      const decls = list.declarations;
      const kwStart = list.getStart(sf);
      const firstDecl = decls[0];
      if (!firstDecl) continue;
      for (const d of decls) {
        bindingNames(d.name);
        if (!d.initializer) edits.push({ start: d.name.getEnd(), end: d.name.getEnd(), text: " = undefined" });
        else visit(d.initializer);
      }
      // `const x = 1, {y} = o;`  →  `void (x = 1, {y} = o);`
      edits.push({ start: kwStart, end: firstDecl.getStart(sf), text: "void (" });
      const lastDecl = decls[decls.length - 1]!;
      edits.push({ start: lastDecl.getEnd(), end: lastDecl.getEnd(), text: ")" });
      continue;
    }
    if (ts.isFunctionDeclaration(st) && st.name) {
      dropExport(st);
      hoistedFunctions.push(st.name.text);
      vars.add(st.name.text);
      visit(st);
      continue;
    }
    if (ts.isClassDeclaration(st) && st.name) {
      dropExport(st);
      vars.add(st.name.text);
      const mods = ts.getModifiers(st) ?? [];
      const classKw = st.getChildren(sf).find((c) => c.kind === ts.SyntaxKind.ClassKeyword);
      const at = classKw ? classKw.getStart(sf) : st.getStart(sf);
      const decoratorStart = mods.length > 0 && ts.isDecorator(mods[0]!) ? st.getStart(sf) : at;
      edits.push({ start: decoratorStart, end: decoratorStart, text: `${st.name.text} = ` });
      edits.push({ start: st.getEnd(), end: st.getEnd(), text: ";" });
      visit(st);
      continue;
    }
    if (st === lastExpr) {
      const e = lastExpr.expression;
      edits.push({ start: e.getStart(sf), end: e.getStart(sf), text: "return (" });
      edits.push({ start: e.getEnd(), end: e.getEnd(), text: ")" });
      visit(e);
      continue;
    }
    visit(st);
  }

  // Applied back to front; of two inserts at one place, the one pushed first must end up first.
  edits.forEach((e, i) => { e.order = i; });
  edits.sort((a, b) => b.start - a.start || b.end - a.end || (b.order ?? 0) - (a.order ?? 0));
  let body = js;
  for (const e of edits) body = body.slice(0, e.start) + e.text + body.slice(e.end);
  const hoist = hoistedFunctions.map((f) => `globalThis.${f} = ${f};`).join(" ");
  const varLine = vars.size > 0 ? `var ${[...vars].join(", ")}; ` : "";
  const code = `${varLine}(async () => { "use strict"; ${hoist}${body}\n})()`;
  return { code, hasResult: lastExpr !== undefined };
}
