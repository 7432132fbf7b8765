// node pretokenize.mjs TOKENIZER_DIR IN.json OUT.json: IN a list of strings, OUT each one's pre-tokens
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";
import { rustDigits } from "./rust_compat.mjs";
const [dir, inp, out] = process.argv.slice(2);
const tj = JSON.parse(fs.readFileSync(dir + "/tokenizer.json", "utf8"));
const tc = JSON.parse(fs.readFileSync(dir + "/tokenizer_config.json", "utf8"));
const tok = new Tokenizer(tj, tc);
rustDigits(tok.pre_tokenizer);
fs.writeFileSync(out, JSON.stringify(JSON.parse(fs.readFileSync(inp, "utf8")).map((t) => tok.pre_tokenizer.pre_tokenize(t))));
