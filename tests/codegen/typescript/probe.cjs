// Reads TypeScript files with the real compiler API and prints what they declare, as JSON:
// syntactic diagnostics, top-level declarations (kind, name, JSDoc text and tags, members),
// and the runtime value of every exported const (transpiled and evaluated).
// Usage: NODE_PATH=<web>/node_modules node probe.cjs file.ts...
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

function doc(node) {
  const comments = ts.getJSDocCommentsAndTags(node).filter((d) => d.kind === ts.SyntaxKind.JSDoc);
  return comments.map((d) => ts.getTextOfJSDocComment(d.comment) || "").join("\n");
}
function tags(node) {
  return ts.getJSDocTags(node).map((t) => [t.tagName.text, ts.getTextOfJSDocComment(t.comment) || ""]);
}
function propName(n, sf) {
  if (!n) return null;
  if (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isNumericLiteral(n)) return n.text;
  return n.getText(sf);
}

// A tiny module loader: relative imports of .ts files (or a folder's index.ts), transpiled to CommonJS.
const cache = new Map();
function load(file) {
  if (cache.has(file)) return cache.get(file);
  const exports = {};
  cache.set(file, exports);
  const js = ts.transpileModule(fs.readFileSync(file, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const req = (spec) => {
    const base = path.resolve(path.dirname(file), spec);
    for (const candidate of [base + ".ts", path.join(base, "index.ts")]) {
      if (fs.existsSync(candidate)) return load(candidate);
    }
    throw new Error(`cannot resolve ${spec} from ${file}`);
  };
  new Function("exports", "require", js.outputText)(exports, req);
  return exports;
}

const out = {};
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const decls = [];
  for (const st of sf.statements) {
    const d = { kind: ts.SyntaxKind[st.kind], name: null, doc: doc(st), tags: tags(st), members: [] };
    if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) d.name = st.name.text;
    if (ts.isVariableStatement(st)) d.name = st.declarationList.declarations.map((x) => x.name.getText(sf)).join(",");
    if (ts.isInterfaceDeclaration(st)) {
      for (const m of st.members) {
        d.members.push({
          name: propName(m.name, sf),
          optional: !!m.questionToken,
          readonly: !!(m.modifiers || []).find((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword),
          type: m.type ? m.type.getText(sf) : null,
          doc: doc(m),
          tags: tags(m),
        });
      }
    }
    decls.push(d);
  }
  out[file] = { diagnostics: sf.parseDiagnostics.map((x) => ts.flattenDiagnosticMessageText(x.messageText, "\n")), declarations: decls, values: load(path.resolve(file)) };
}
process.stdout.write(JSON.stringify(out));
