// Encode with @huggingface/tokenizers (pure JS) so ids are exactly HF's tokenization.
// usage:
//   node encode_js.mjs HFJS_DIR TOK_DIR file IN.txt OUT.bin   whole file, one call, add_special_tokens
//                                                            -> int32 LE ids; checks decode round-trip
//   node encode_js.mjs HFJS_DIR TOK_DIR stories IN.txt OUT.bin split on "\n\n", each story encoded with
//                                                            its BOS, concatenated -> int32 LE ids
//   node encode_js.mjs HFJS_DIR TOK_DIR list IN.json OUT.json list of strings -> [{ids, decoded}]
//   node encode_js.mjs HFJS_DIR TOK_DIR pretok IN.json OUT.json  GPT-2 regex split of each string
// HFJS_DIR: folder where `npm install @huggingface/tokenizers@0.2.0` was run.
import fs from "fs";
import path from "path";
import { createRequire } from "module";
import { pathToFileURL } from "url";

const [hfjs, dir, mode, inp, out] = process.argv.slice(2);
const req = createRequire(path.resolve(hfjs) + "/");
const entry = req.resolve("@huggingface/tokenizers").replace(/\.cjs$/, ".mjs");
const { Tokenizer } = await import(pathToFileURL(entry).href);
const tj = JSON.parse(fs.readFileSync(dir + "/tokenizer.json", "utf8"));
const tc = JSON.parse(fs.readFileSync(dir + "/tokenizer_config.json", "utf8"));
const tok = new Tokenizer(tj, tc);

if (mode === "file") {
  const text = fs.readFileSync(inp, "utf8");
  const ids = tok.encode(text, { add_special_tokens: true }).ids;
  const dec = tok.decode(ids, { skip_special_tokens: true });
  if (dec !== text) { console.error("decode round-trip FAILED"); process.exit(1); }
  const buf = Buffer.alloc(ids.length * 4);
  ids.forEach((v, i) => buf.writeInt32LE(v, i * 4));
  fs.writeFileSync(out, buf);
  console.log(`${inp}: ${text.length} chars -> ${ids.length} ids (round-trip ok)`);
} else if (mode === "stories") {
  const stories = fs.readFileSync(inp, "utf8").split("\n\n").filter((t) => t.length > 0);
  const all = [];
  for (const t of stories) {
    const ids = tok.encode(t, { add_special_tokens: true }).ids;
    if (ids[0] !== 0 || tok.decode(ids, { skip_special_tokens: true }) !== t) {
      console.error("story round-trip FAILED"); process.exit(1);
    }
    for (const v of ids) all.push(v);
  }
  const buf = Buffer.alloc(all.length * 4);
  all.forEach((v, i) => buf.writeInt32LE(v, i * 4));
  fs.writeFileSync(out, buf);
  console.log(`${inp}: ${stories.length} stories -> ${all.length} ids (BOS before each story)`);
} else if (mode === "list") {
  const texts = JSON.parse(fs.readFileSync(inp, "utf8"));
  const res = texts.map((t) => {
    const ids = tok.encode(t, { add_special_tokens: true }).ids;
    return { ids, decoded: tok.decode(ids, { skip_special_tokens: true }) };
  });
  fs.writeFileSync(out, JSON.stringify(res));
  console.log("encoded", texts.length);
} else if (mode === "pretok") {
  const re = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const texts = JSON.parse(fs.readFileSync(inp, "utf8"));
  fs.writeFileSync(out, JSON.stringify(texts.map((t) => t.match(re) || [])));
  console.log("split", texts.length);
} else {
  console.error("unknown mode " + mode); process.exit(2);
}
