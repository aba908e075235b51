"""libFuzzer targets: built only with --config=fuzz (clang, ASan + UBSan).

Each target also gets `<name>_replay`, a cc_test in every build that runs
the target's checked-in corpus (fuzz/corpus/<name>) through it once.
"""

FUZZ_ONLY = select({
    "//tools/fuzz:enabled": [],
    "//conditions:default": ["@platforms//:incompatible"],
})

def cc_fuzz_binary(name, srcs, deps = [], linkopts = [], replay = True, **kwargs):
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps,
        linkopts = linkopts + ["-fsanitize=fuzzer"],
        target_compatible_with = FUZZ_ONLY,
        testonly = True,
        **kwargs
    )
    if replay:
        native.cc_test(
            name = name + "_replay",
            size = "small",
            srcs = srcs + ["//fuzz:replay_main.cc"],
            # replay_main.cc reads the corpus with base/file.h (which
            # brings absl::StatusOr).
            deps = deps + [d for d in ["//base:file", "//third_party:absl"] if d not in deps],
            data = native.glob(["corpus/" + name + "/*"]),
            args = [native.package_name() + "/corpus/" + name],
            **kwargs
        )
