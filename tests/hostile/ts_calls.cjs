// What the TypeScript parser sees in generated files, for hostile test 10: per file, its syntax
// errors, the callee of every call (`f()`, `new F()`, tagged templates, `import()`), the value of
// every string literal and the source of every template literal — code, never comments
// (forEachChild skips JSDoc).
// Usage: NODE_PATH=<web>/node_modules node ts_calls.cjs file.ts...
const fs = require("fs");
const ts = require("typescript");

const out = {};
for (const file of process.argv.slice(2)) {
  const kind = file.endsWith(".tsx") ? ts.ScriptKind.TSX : /\.m?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, kind);
  const calls = [];
  const strings = [];
  const templates = [];
  const visit = (node) => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) calls.push(node.expression.getText(sf));
    if (ts.isTaggedTemplateExpression(node)) calls.push(node.tag.getText(sf));
    if (ts.isStringLiteral(node)) strings.push(node.text);
    if (ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) templates.push(node.getText(sf));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  out[file] = {
    diagnostics: sf.parseDiagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
    calls,
    strings,
    templates,
  };
}
process.stdout.write(JSON.stringify(out));
