-- certbench.pem: the one PEM and Base-64 codec of certbench (core/pem.c); every reader of PEM
-- text in the core goes through it.
--   pem.text(data) -> text, bom, line_ends, no_bom
--       UTF-8 with LF line ends: a UTF-8 BOM dropped, UTF-16 (LE/BE, with or without a BOM)
--       converted, CRLF and CR made LF. bom = nil | "utf-8" | "utf-16le" | "utf-16be";
--       line_ends = nil | "lf" | "crlf" | "cr" | "mixed"; no_bom = true for UTF-16 without one.
--   pem.blocks(text) -> { block, ... }, tail
--       block = { label=, index=, line= (its BEGIN line), pre= (text since the previous block),
--                 headers = { {name, value}, ... } (RFC 1421) | nil, der= the decoded bytes }
--       or, for a bad block, error = "mangled" | "truncated" (next_line=) | "mismatch"
--       (end_label=, end_line=) | "bad_base64" (char=, char_line= | message=) | "empty";
--       tail = the text after the last block. Text around blocks (Bag Attributes) is kept in pre.
--   pem.encode(label, der[, crlf]) -> PEM text, 64 columns (public objects: not constant-time)
--   pem.b64decode(text) -> bytes | nil, err (strict: padding at the end, a multiple of 4)
--   pem.b64encode(bytes) -> text on one line
--   pem.armorless(text) -> bytes | nil: text that is nothing but Base-64 (no armor)
--   pem.labels(data) -> "CERTIFICATE, X509 CRL" (distinct labels in order, "" for none)
local c = require "_certbench.pem"

return {
  text = c.text, blocks = c.blocks, encode = c.encode, b64decode = c.b64decode,
  b64encode = c.b64encode, armorless = c.armorless, labels = c.labels,
}
