// The one vendored bundle of prove serve's playground: CodeMirror 6 and YAML highlighting.
// web/build.sh bundles this file with esbuild into prover/serve/static/vendor/codemirror.js
// (an ES module); app.js imports what it needs from there.
export { basicSetup, minimalSetup } from "codemirror";
export {
  EditorView, Decoration, WidgetType, ViewPlugin, keymap, gutter, GutterMarker,
  lineNumbers, placeholder,
} from "@codemirror/view";
export {
  EditorState, StateField, StateEffect, RangeSet, RangeSetBuilder, Compartment, Transaction,
} from "@codemirror/state";
export { yaml } from "@codemirror/lang-yaml";
export { indentUnit, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
export { indentWithTab } from "@codemirror/commands";
