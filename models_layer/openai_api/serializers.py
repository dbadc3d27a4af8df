"""OpenAI's request bodies for chat completions and completions, as far as the platform serves them.

Fields OpenAI's clients send that change nothing here (`user`, `store`, `metadata`…) are ignored, as
OpenAI ignores what it does not use; features the platform does not have (tools, log-probabilities,
images) are refused by name rather than silently dropped."""

from rest_framework import serializers

MAX_CHOICES = 16
# The runtime's seeds are 31-bit (the generate API's range); OpenAI's are 64-bit.
SEED_MAX = 2**31 - 1
# Without max_tokens an answer runs until the model ends it or the context is full, as OpenAI's does;
# the runtime stops at the generator's context.
MAX_TOKENS_CEILING = 4096

UNSUPPORTED = {
    "tools": "Tool calls are not supported.",
    "functions": "Function calls are not supported.",
    "tool_choice": "Tool calls are not supported.",
    "function_call": "Function calls are not supported.",
    "logit_bias": "logit_bias is not supported.",
    "logprobs": "Log-probabilities are not supported.",
    "top_logprobs": "Log-probabilities are not supported.",
    "audio": "Audio is not supported.",
    "prediction": "Predicted outputs are not supported.",
    "echo": "echo is not supported.",
    "suffix": "suffix is not supported.",
}


class StreamOptions(serializers.Serializer):
    include_usage = serializers.BooleanField(required=False, default=False)


class _SamplingFields(serializers.Serializer):
    model = serializers.CharField(max_length=200, help_text="A generator's slug, or `slug:version` (GET /v1/models).")
    max_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, required=False, allow_null=True)
    top_p = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, allow_null=True)
    n = serializers.IntegerField(min_value=1, max_value=MAX_CHOICES, required=False, allow_null=True)
    stop = serializers.JSONField(required=False, allow_null=True, help_text="A string or up to 4 strings.")
    seed = serializers.IntegerField(required=False, allow_null=True)
    presence_penalty = serializers.FloatField(min_value=-2.0, max_value=2.0, required=False, allow_null=True)
    frequency_penalty = serializers.FloatField(min_value=-2.0, max_value=2.0, required=False, allow_null=True)
    stream = serializers.BooleanField(required=False, default=False)
    stream_options = StreamOptions(required=False, allow_null=True)
    response_format = serializers.DictField(
        required=False,
        allow_null=True,
        help_text='{"type": "text" | "json_object" | "json_schema", "json_schema": {...}}',
    )

    def validate_stop(self, value):
        if value is None:
            return []
        stops = [value] if isinstance(value, str) else value
        if (
            not isinstance(stops, list)
            or len(stops) > 4
            or not all(isinstance(s, str) and 0 < len(s) <= 200 for s in stops)
        ):
            raise serializers.ValidationError("A string or a list of up to 4 strings of 1 to 200 characters.")
        return stops

    def validate_response_format(self, value):
        if value is not None and value.get("type", "text") not in ("text", "json_object", "json_schema"):
            raise serializers.ValidationError('type must be "text", "json_object" or "json_schema".')
        return value

    def validate(self, data):
        for name, reason in UNSUPPORTED.items():
            if self.initial_data.get(name) not in (None, False, [], {}, 0):
                raise serializers.ValidationError({name: [reason]})
        return data


class MessagePart(serializers.Serializer):
    type = serializers.CharField()
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class ChatMessage(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant"])
    content = serializers.JSONField(allow_null=True)
    name = serializers.CharField(required=False, max_length=64)

    def validate_content(self, value):
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(part, dict) for part in value):
            if any(part.get("type") != "text" or not isinstance(part.get("text"), str) for part in value):
                raise serializers.ValidationError("Only text parts are supported.")
            return "".join(part["text"] for part in value)
        raise serializers.ValidationError("A string or a list of text parts.")


class ChatCompletionRequest(_SamplingFields):
    messages = ChatMessage(many=True, allow_empty=False, max_length=200)
    max_completion_tokens = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="The newer name of max_tokens; either may be given."
    )


class CompletionRequest(_SamplingFields):
    prompt = serializers.JSONField(help_text="A string or a list of strings.")

    def validate_prompt(self, value):
        prompts = [value] if isinstance(value, str) else value
        if (
            not isinstance(prompts, list)
            or not prompts
            or len(prompts) > MAX_CHOICES
            or not all(isinstance(p, str) and p for p in prompts)
        ):
            raise serializers.ValidationError(
                f"A string or a list of 1 to {MAX_CHOICES} non-empty strings (token arrays are not supported)."
            )
        return prompts


def sampling_params(data: dict) -> dict:
    """The generate API's parameters for OpenAI's (whose defaults differ: temperature and top_p 1)."""
    params = {
        "max_new_tokens": min(
            data.get("max_completion_tokens") or data.get("max_tokens") or MAX_TOKENS_CEILING, MAX_TOKENS_CEILING
        ),
        "temperature": 1.0 if data.get("temperature") is None else data["temperature"],
        "top_p": max(0.01, 1.0 if data.get("top_p") is None else data["top_p"]),
        "presence_penalty": data.get("presence_penalty") or 0.0,
        "frequency_penalty": data.get("frequency_penalty") or 0.0,
        "stop": data.get("stop") or [],
    }
    response_format = data.get("response_format")
    if response_format and response_format.get("type", "text") != "text":
        params["response_format"] = response_format
    return params


def seed_for(data: dict, choice: int) -> int | None:
    """The seed of the `choice`-th answer: OpenAI's 64-bit seed folded into the runtime's range, one
    apart per choice so that n answers differ; None draws one."""
    seed = data.get("seed")
    return None if seed is None else (seed + choice) % (SEED_MAX + 1)
