"""What a caller asks the runtime for, and what it gets back."""

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

# Waiting iterators yield '' this often, so a job can look at its cancel flag between pieces.
POLL_SECONDS = 0.5


@dataclass
class TextRequest:
    """A chat (`messages`) or a plain `prompt`; sampling is greedy when `temperature` is 0.

    `presence_penalty` and `frequency_penalty` (as OpenAI's) lower the logit of a word already written
    in this answer: by the first once, plus the second per time it was written. Only tokens with a
    letter or digit count, so that quotes, commas and spaces (a JSON answer's own syntax) stay free."""

    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int = 0
    stop: list[str] = field(default_factory=list)
    response_format: dict[str, Any] | None = None


@dataclass
class TextResult:
    text: str
    finish_reason: str  # "stop" (end of text or a stop sequence), "length", "cancelled"
    prompt_tokens: int
    completion_tokens: int
    seed: int
    seconds: float
    json: Any = None
    peak_batch: int = 1  # the most sequences it shared a decode step with (itself included)

    def as_dict(self) -> dict[str, Any]:
        answer = {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "seed": self.seed,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "seconds": round(self.seconds, 3),
            "tokens_per_second": round(self.completion_tokens / self.seconds, 2) if self.seconds > 0 else None,
            "peak_batch": self.peak_batch,
        }
        if self.json is not None:
            answer["json"] = self.json
        return answer


@dataclass
class ImageRequest:
    count: int = 4
    seed: int = 0


class Generation:
    """A request in flight: iterate it for text pieces as they are produced; `result` at the end.

    Iteration yields '' every POLL_SECONDS while nothing new arrived, so the caller can check for
    cancellation; `cancel()` frees the sequence's slot at the engine's next step.
    """

    def __init__(self):
        self._events: queue.Queue = queue.Queue()
        self._cancelled = threading.Event()
        self.result: TextResult | None = None

    def __iter__(self):
        while True:
            try:
                kind, value = self._events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                yield ""
                continue
            if kind == "text":
                yield value
            elif kind == "done":
                self.result = value
                return
            else:
                raise value

    def wait(self) -> TextResult:
        for _ in self:
            pass
        return self.result

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()
