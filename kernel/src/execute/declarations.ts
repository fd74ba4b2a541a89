import { ts, type TS } from "./typescript.js";

/**
 * A name a cell declares at top level, and how later cells see it. `mutable` names (let/var) are
 * re-declared in later cells' type view with `declare let`, so a later cell may assign them; all
 * other names (const, function, class, enum, interface, type, namespace, import) are imported, which
 * keeps both their value and their type meaning.
 */
export interface Declaration {
  readonly name: string;
  readonly mutable: boolean;
  /** Declared with an `export` modifier by the user: the view must not export it a second time. */
  readonly exported: boolean;
}

export function collectDeclarations(sf: TS.SourceFile): Declaration[] {
  const out: Declaration[] = [];
  const exported = (n: TS.Node): boolean =>
    ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const bindingNames = (b: TS.BindingName, acc: string[]): void => {
    if (ts.isIdentifier(b)) acc.push(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, acc);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      const isConst = (st.declarationList.flags & ts.NodeFlags.Const) !== 0;
      const names: string[] = [];
      for (const d of st.declarationList.declarations) bindingNames(d.name, names);
      for (const name of names) out.push({ name, mutable: !isConst, exported: exported(st) });
    } else if (
      (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st) ||
        ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name
    ) {
      out.push({ name: st.name.text, mutable: false, exported: exported(st) });
    } else if (ts.isModuleDeclaration(st) && ts.isIdentifier(st.name)) {
      out.push({ name: st.name.text, mutable: false, exported: exported(st) });
    } else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      if (c.name) out.push({ name: c.name.text, mutable: false, exported: false });
      const nb = c.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) out.push({ name: nb.name.text, mutable: false, exported: false });
      if (nb && ts.isNamedImports(nb)) for (const e of nb.elements) out.push({ name: e.name.text, mutable: false, exported: false });
    } else if (ts.isImportEqualsDeclaration(st)) {
      out.push({ name: st.name.text, mutable: false, exported: false });
    }
  }
  // Overloaded functions and declaration merging list a name more than once.
  const seen = new Set<string>();
  return out.filter((d) => (seen.has(d.name) ? false : (seen.add(d.name), true)));
}
