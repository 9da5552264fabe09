#!/usr/bin/python3
"""Trains the default model's SentencePiece BPE tokenizer (Llama-style) on the generated corpus.

Run from anywhere with Debian's python3 (it has python3-sentencepiece):

    /usr/bin/python3 scripts/default-model/train_tokenizer.py [--n 16000] [--seed 0] [--chat 12000] [--out models/default]

It calls `node --import tsx scripts/default-model/corpus.ts` to generate the corpus (the same one
the model is trained on), splits every document into lines (so "\\n" is never a piece and is
encoded with the byte fallback <0x0A>, as in Llama), trains in memory and writes:

    <out>/tokenizer.model          SentencePiece ModelProto
    <out>/tokenizer_config.json    Hugging Face LlamaTokenizer config with the chat template
    <out>/special_tokens_map.json

Deterministic: fixed corpus, all sentences used in corpus order (input_sentence_size=0, no
shuffling), one thread, sentences fed through an iterator so no file path ends up in the model.
"""
import argparse
import io
import json
import os
import subprocess
import sys

import sentencepiece as spm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CORPUS_TS = os.path.join('scripts', 'default-model', 'corpus.ts')

VOCAB_SIZE = 1536
MODEL_MAX_LENGTH = 512


def node(*args: str) -> str:
    out = subprocess.run(['node', '--import', 'tsx', CORPUS_TS, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout


def corpus_lines(n: int, seed: int, chat: int) -> list:
    docs = [json.loads(l) for l in node('--n', str(n), '--seed', str(seed), '--chat', str(chat)).splitlines() if l.strip()]
    lines = []
    for d in docs:
        lines.extend(l for l in d['text'].split('\n') if l.strip())
    return lines


def train(lines: list) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type='bpe',
        vocab_size=VOCAB_SIZE,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        # Llama: no normalisation, keep whitespace as is, prepend a space ("▁") to the text.
        normalization_rule_name='identity',
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        unk_piece='<unk>',
        bos_piece='<s>',
        eos_piece='</s>',
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        max_sentence_length=8192,
        minloglevel=2,
    )
    return model.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n', type=int, default=16000, help='plain stories in the corpus')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--chat', type=int, default=12000, help='chat examples in the corpus')
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'default'))
    args = ap.parse_args()

    lines = corpus_lines(args.n, args.seed, args.chat)
    proto = train(lines)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'tokenizer.model'), 'wb') as f:
        f.write(proto)

    chat_template = json.loads(node('--print-chat-template'))
    special = {'content': None, 'lstrip': False, 'normalized': False, 'rstrip': False, 'single_word': False, 'special': True}
    config = {
        'tokenizer_class': 'LlamaTokenizer',
        'add_bos_token': True,
        'add_eos_token': False,
        'bos_token': '<s>',
        'eos_token': '</s>',
        'unk_token': '<unk>',
        'pad_token': None,
        'added_tokens_decoder': {str(i): {**special, 'content': t} for i, t in enumerate(['<unk>', '<s>', '</s>'])},
        'chat_template': chat_template,
        'clean_up_tokenization_spaces': False,
        'legacy': False,
        'model_max_length': MODEL_MAX_LENGTH,
        'sp_model_kwargs': {},
        'spaces_between_special_tokens': False,
    }
    with open(os.path.join(args.out, 'tokenizer_config.json'), 'w') as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write('\n')
    with open(os.path.join(args.out, 'special_tokens_map.json'), 'w') as f:
        json.dump({'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>'}, f, indent=2)
        f.write('\n')

    sp = spm.SentencePieceProcessor(model_proto=proto)
    n_tok = sum(len(sp.encode(l)) for l in lines)
    n_words = sum(len(l.split()) for l in lines)
    print(json.dumps({
        'vocab_size': sp.get_piece_size(), 'model_bytes': len(proto), 'lines': len(lines),
        'tokens': n_tok, 'tokens_per_word': round(n_tok / n_words, 3), 'tokens_per_line': round(n_tok / len(lines), 2),
    }), file=sys.stderr)


if __name__ == '__main__':
    main()
