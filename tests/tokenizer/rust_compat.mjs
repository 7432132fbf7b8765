// The tokenizers library (Rust, what transformers runs) splits the Digits pre-tokenizer's runs on
// char::is_numeric (general category N: also ² ³ ¹ ¼ ½ ¾, which ByteLevel's byte characters include);
// @huggingface/tokenizers 0.2.0 (JS) on \d, ASCII 0-9 only. rustDigits(pt) makes the JS reference's Digits
// steps do as Rust's, unless COMP_JS_DIGITS=ascii asks for the package's own.
export function rustDigits(pt) {
  if (!pt || process.env.COMP_JS_DIGITS === "ascii") return;
  if (pt.config?.type === "Digits")
    pt.pattern = new RegExp(`[^\\p{N}]+|\\p{N}${pt.config.individual_digits ? "" : "+"}`, "gu");
  for (const t of pt.tokenizers ?? []) rustDigits(t);
}
