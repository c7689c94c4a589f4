"""The examples, shipped in the wheel as safeprobe_examples so `safeprobe demo` can run them."""
