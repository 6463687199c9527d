"""The texts every pretrained tokenizer must split exactly as its reference does:
English, Chinese, emoji, code and odd whitespace (issue 6)."""

SENTENCES = {
    "english": "The quick brown fox jumps over the lazy dog.",
    "chinese": "我爱自然语言处理",
    "emoji": "I love pizza 🍕🍕 and rockets 🚀!",
    "code": "def f(x): return x**2  # square\n\tprint(f(3))",
    "whitespace": "  spaced   out \t\n text  ",
}
