"""Structured output: a JSON schema enforced while sampling (xgrammar), so even a small model's
answer parses and fits. The schema is compiled without free whitespace: given the choice, a small
model spends its tokens on newlines."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from aigc_platform.core.errors import ApplicationError

if TYPE_CHECKING:
    import torch


def schema_of(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """The JSON schema a `response_format` asks for, or None for free text.

    Accepted shapes: {"type": "json_schema", "json_schema": {"schema": {...}}} (OpenAI's),
    {"type": "json_schema", "schema": {...}}, and {"type": "json_object"} (any JSON object).
    """
    if not response_format or response_format.get("type", "text") == "text":
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema", response_format.get("schema"))
        if isinstance(schema, dict):
            return schema
    raise ApplicationError(
        'response_format must be {"type": "json_schema", "json_schema": {"schema": {...}}} or {"type": "json_object"}.',
        fields={"response_format": ["Unknown shape."]},
    )


def schema_validate(value: Any, schema: dict[str, Any]) -> str | None:
    """None when `value` fits the JSON schema, else what is wrong with it, in a line (where answers
    are not made under the schema's grammar: remote engines that cannot enforce one)."""
    import jsonschema

    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    except jsonschema.exceptions.SchemaError as problem:
        return f"the schema itself is invalid: {problem.message}"
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{error.message}{f' (at {where})' if where else ''}"


class GrammarCompiler:
    """Compiles schemas for one tokenizer, keeping the compiled grammars (compiling takes a while)."""

    def __init__(self, tokenizer, vocab_size: int, stop_token_ids: list[int]):
        import xgrammar

        self._xgr = xgrammar
        self.vocab_size = vocab_size
        info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        self._compiler = xgrammar.GrammarCompiler(info)
        self._compiled: dict[str, Any] = {}
        self._lock = threading.Lock()

    def matcher(self, schema: dict[str, Any]):
        # Property order is kept: the grammar writes properties in the schema's order (a title before its body).
        key = json.dumps(schema)
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                try:
                    compiled = self._compiler.compile_json_schema(key, any_whitespace=False)
                except Exception as error:  # xgrammar raises RuntimeError/ValueError subclasses for bad schemas
                    raise ApplicationError(
                        f"The JSON schema cannot be enforced: {error}",
                        fields={"response_format": ["Unsupported JSON schema."]},
                    ) from None
                self._compiled[key] = compiled
        return self._xgr.GrammarMatcher(compiled)

    def mask(self, logits: torch.Tensor, rows: list[int], matchers: list) -> None:
        """Forbid, in place, every token that would break each row's grammar."""
        bitmask = self._xgr.allocate_token_bitmask(len(rows), self.vocab_size)
        for position, matcher in enumerate(matchers):
            matcher.fill_next_token_bitmask(bitmask, position)
        selected = logits[rows]
        self._xgr.apply_token_bitmask_inplace(selected, bitmask.to(logits.device), vocab_size=self.vocab_size)
        logits[rows] = selected
