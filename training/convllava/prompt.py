"""conv_vicuna_v1 prompts on the real LLaMA vocabulary, tokenized as ConvLLaVA was trained
(transformers 4.33's slow LlamaTokenizer): each text segment around <image> is encoded on its own
with SentencePiece's dummy prefix, BOS only at the start, -200 where the image goes."""
import os

import sentencepiece as spm

from .model import IMAGE_TOKEN_INDEX

SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the user's questions.")
HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "tokenizer.model")
BOS, EOS = 1, 2


class Prompter:
    def __init__(self, path=TOKENIZER):
        self.sp = spm.SentencePieceProcessor(model_file=path)
        self._cache = {}

    def prompt_text(self, question):
        return SYSTEM + " USER: <image>\n" + question + " ASSISTANT:"

    def input_ids(self, question):
        """conv-llava's tokenizer_image_token(prompt) with BOS."""
        if question not in self._cache:
            chunks = [[BOS] + self.sp.encode(c) for c in self.prompt_text(question).split("<image>")]
            ids = list(chunks[0])
            for c in chunks[1:]:
                ids.append(IMAGE_TOKEN_INDEX)
                ids.extend(c[1:])
            self._cache[question] = ids
        return list(self._cache[question])

    def answer_ids(self, answer):
        """What follows "ASSISTANT:" in a training conversation: " {answer}</s>"."""
        return self.sp.encode(answer) + [EOS]

    def decode(self, ids):
        return self.sp.decode([i for i in ids if i != EOS])
