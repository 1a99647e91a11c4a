"""The toy sequence task ("toy LLM"): prompts, a small vocabulary with EOS, every sequence enumerable."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_probabilities

__all__ = ["SequenceTask", "toy_sequence_task"]

RewardFn = Callable[[int, tuple[int, ...]], float]


@dataclass(frozen=True, eq=False)
class SequenceTask:
    r"""Autoregressive generation over a vocabulary ``{0, …, V-1}`` with an end token ``eos``.

    A response y to prompt q is a token sequence that stops at the first ``eos`` (which it includes)
    or at ``max_length`` tokens (a *truncated* response, with no ``eos``). Every response is enumerated
    once at construction, so exact expectations are finite sums.

    Prefixes are the non-terminal histories: sequences of non-EOS tokens of length 0..L-1. They are
    numbered breadth-first, prefix 0 being the empty one; a tabular policy has one logit vector per
    (prompt, prefix).

    Attributes (all built at construction)
    --------------------------------------
    tokens : LongTensor [N, L]      response tokens, padded with -1
    lengths : LongTensor [N]        number of tokens (EOS included)
    finished : BoolTensor [N]       True when the response ends with EOS
    prefix_ids : LongTensor [N, L]  id of the prefix in front of each token (0 where padded)
    mask : BoolTensor [N, L]        True on real tokens
    rewards : Tensor [M, N]         reward of each response to each prompt
    prompt_weights : Tensor [M]     distribution of prompts

    ``reward`` is a callable ``reward(prompt, tokens) -> float`` evaluated once per (prompt, response),
    or a tensor ``[M, N]`` in the enumeration order.
    """

    vocab_size: int
    max_length: int
    n_prompts: int
    reward: Any
    eos: int = 0
    prompt_weights: Any = None
    name: str = "sequence_task"
    tokens: torch.Tensor = field(init=False, repr=False)
    lengths: torch.Tensor = field(init=False, repr=False)
    finished: torch.Tensor = field(init=False, repr=False)
    prefix_ids: torch.Tensor = field(init=False, repr=False)
    mask: torch.Tensor = field(init=False, repr=False)
    rewards: torch.Tensor = field(init=False, repr=False)
    n_prefixes: int = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.vocab_size, (int, np.integer)) and not isinstance(self.vocab_size, bool) and self.vocab_size < 2:
            raise ValueError(
                f"vocab_size: need EOS and at least one other token, got {self.vocab_size}"
                + (" (empty vocabulary)" if self.vocab_size == 0 else "")
            )
        V = check_positive_int(self.vocab_size, "vocab_size", minimum=2)
        L = check_positive_int(self.max_length, "max_length")
        M = check_positive_int(self.n_prompts, "n_prompts")
        check_positive_int(self.eos, "eos", minimum=-(2**62))  # an integer; the range is checked next
        if not (0 <= int(self.eos) < V):
            raise ValueError(f"eos: must be a token id in [0, {V}), got {self.eos}")
        eos = int(self.eos)
        n_seq = sum((V - 1) ** k for k in range(L)) + (V - 1) ** L
        if n_seq * L > 50_000_000:
            raise ValueError(f"vocab_size/max_length: {n_seq} responses of length {L} are too many to enumerate")
        body = [t for t in range(V) if t != eos]
        # breadth-first prefixes: level k holds (V-1)^k prefixes; id of prefix p + [t] is computable
        level_start = [0]
        for k in range(L):
            level_start.append(level_start[-1] + (V - 1) ** k)
        n_prefixes = level_start[L]
        tok_rows, pre_rows, lens, fin = [], [], [], []

        def walk(prefix: list[int], idx_in_level: int) -> None:
            k = len(prefix)
            pid = level_start[k] + idx_in_level
            prefix_pids = getattr(walk, "stack")
            prefix_pids.append(pid)
            # stop here with EOS
            tok_rows.append(prefix + [eos])
            pre_rows.append(list(prefix_pids))
            lens.append(k + 1)
            fin.append(True)
            for j, t in enumerate(body):
                child = prefix + [t]
                if k + 1 == L:  # truncated at max length
                    tok_rows.append(child)
                    pre_rows.append(list(prefix_pids))
                    lens.append(L)
                    fin.append(False)
                else:
                    walk(child, idx_in_level * (V - 1) + j)
            prefix_pids.pop()

        walk.stack = []  # type: ignore[attr-defined]
        walk([], 0)
        N = len(tok_rows)
        assert N == n_seq
        tokens = np.full((N, L), -1, dtype=np.int64)
        prefixes = np.zeros((N, L), dtype=np.int64)
        for i, (tr, pr) in enumerate(zip(tok_rows, pre_rows)):
            tokens[i, : len(tr)] = tr
            prefixes[i, : len(pr)] = pr
        lengths = torch.tensor(lens)
        mask = torch.arange(L)[None, :] < lengths[:, None]
        if callable(self.reward):
            R = np.array([[float(self.reward(q, tuple(tok_rows[i]))) for i in range(N)] for q in range(M)])
            R = torch.from_numpy(R)
        else:
            R = as_tensor(self.reward, "reward")
            if tuple(R.shape) != (M, N):
                raise ValueError(f"reward: expected a callable or a tensor of shape [M, N] = {(M, N)}, got {tuple(R.shape)}")
        check_finite(R.to(DTYPE), "reward")
        if self.prompt_weights is None:
            w = torch.full((M,), 1.0 / M, dtype=DTYPE)
        else:
            w = as_tensor(self.prompt_weights, "prompt_weights")
            if tuple(w.shape) != (M,):
                raise ValueError(f"prompt_weights: expected shape [M] = {(M,)}, got {tuple(w.shape)}")
            w = check_probabilities(w, "prompt_weights")
        for k, v in dict(
            tokens=torch.from_numpy(tokens), lengths=lengths, finished=torch.tensor(fin), prefix_ids=torch.from_numpy(prefixes),
            mask=mask, rewards=R.to(DTYPE), prompt_weights=w, n_prefixes=n_prefixes, eos=eos,
        ).items():
            object.__setattr__(self, k, v)

    @property
    def n_sequences(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def is_binary(self) -> bool:
        """True when every reward is 0 or 1 (a verifiable reward)."""
        return bool(((self.rewards == 0) | (self.rewards == 1)).all())

    def sequence(self, index: int) -> tuple[int, ...]:
        """The tokens of response ``index`` as a tuple."""
        n = int(self.lengths[index])
        return tuple(int(t) for t in self.tokens[index, :n])

    def index_of(self, tokens: Sequence[int]) -> int:
        """Enumeration index of a response given as a token sequence."""
        t = tuple(int(x) for x in tokens)
        L = self.max_length
        if len(t) == 0 or len(t) > L:
            raise ValueError(f"tokens: a response has 1..{L} tokens, got {len(t)}")
        if (self.eos in t[:-1]) or (len(t) < L and t[-1] != self.eos):
            raise ValueError(f"tokens: {t} is not a response (EOS must end it, or it must have {L} tokens)")
        row = torch.full((L,), -1, dtype=torch.long)
        row[: len(t)] = torch.tensor(t)
        hit = (self.tokens == row).all(1).nonzero()
        return int(hit[0, 0])

    def __repr__(self) -> str:
        return (f"SequenceTask(name={self.name!r}, V={self.vocab_size}, L={self.max_length}, M={self.n_prompts}, "
                f"eos={self.eos}, responses={self.n_sequences}, prefixes={self.n_prefixes})")


def _answer_sets(answers: Any, n_prompts: int, V: int, L: int, eos: int) -> list[set[tuple[int, ...]]]:
    """The correct responses of each prompt as sets of token tuples, after checking each is a response of the task
    (1..L tokens in [0, V), ``eos`` only as the last token, and present unless the response has L tokens)."""
    if isinstance(answers, (str, bytes)) or not hasattr(answers, "__len__") or len(answers) != n_prompts:
        raise ValueError(f"answers: expected {n_prompts} lists (one per prompt), got {answers!r:.80}")
    sets = []
    for q, ans in enumerate(answers):
        if isinstance(ans, (str, bytes)) or not hasattr(ans, "__iter__"):
            raise TypeError(f"answers: answers[{q}] must be a list of token sequences, got {type(ans).__name__}")
        s = set()
        for a in ans:
            if isinstance(a, (str, bytes)) or not hasattr(a, "__iter__"):
                raise TypeError(f"answers: answers[{q}] holds {a!r}, not a token sequence")
            t = tuple(a)
            if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in t):
                raise TypeError(f"answers: answers[{q}] holds {t}, whose tokens are not all integers")
            ok = (1 <= len(t) <= L and all(0 <= x < V for x in t) and eos not in t[:-1]
                  and (len(t) == L or t[-1] == eos))
            if not ok:
                raise ValueError(f"answers: answers[{q}] holds {t}, which is not a response (1..{L} tokens in [0, {V}), "
                                 f"ending with EOS = {eos} unless it has {L} tokens)")
            s.add(tuple(int(x) for x in t))
        sets.append(s)
    return sets


def toy_sequence_task(
    vocab_size: int = 4,
    max_length: int = 4,
    n_prompts: int = 3,
    *,
    answers: Sequence[Sequence[Sequence[int]]] | None = None,
    seed: int = 0,
    prompt_weights: Any = None,
) -> SequenceTask:
    r"""A verifiable-reward toy LLM task: reward 1 iff the response equals one of the prompt's answers.

    ``answers[q]`` lists the correct responses (token tuples ending in EOS = 0) for prompt q. By
    default each prompt gets one random answer of random length 1..max_length-1 tokens before EOS.
    """
    V = check_positive_int(vocab_size, "vocab_size", minimum=2)
    L = check_positive_int(max_length, "max_length", minimum=2)
    n_prompts = check_positive_int(n_prompts, "n_prompts")
    rng = np.random.default_rng(check_positive_int(seed, "seed", minimum=0))
    if answers is None:
        answers = []
        for _ in range(n_prompts):
            n = int(rng.integers(1, L))
            answers.append([tuple(int(x) for x in rng.integers(1, V, size=n)) + (0,)])
    sets = _answer_sets(answers, n_prompts, V, L, eos=0)
    return SequenceTask(V, L, n_prompts, lambda q, y: float(y in sets[q]), eos=0,
                        prompt_weights=prompt_weights, name=f"toy_seq(V={V},L={L},M={n_prompts})")
