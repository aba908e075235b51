"""libFuzzer targets: built only with --config=fuzz (clang, ASan + UBSan)."""

FUZZ_ONLY = select({
    "//tools/fuzz:enabled": [],
    "//conditions:default": ["@platforms//:incompatible"],
})

def cc_fuzz_binary(name, linkopts = [], **kwargs):
    native.cc_binary(
        name = name,
        linkopts = linkopts + ["-fsanitize=fuzzer"],
        target_compatible_with = FUZZ_ONLY,
        testonly = True,
        **kwargs
    )
