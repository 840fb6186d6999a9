# Compiler settings shared by every Tollgate target: an INTERFACE target the others link.
add_library(tollgate_flags INTERFACE)
target_compile_definitions(tollgate_flags INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_URL_CAST_FROM_STRING
    QT_USE_QSTRINGBUILDER
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
    TOLLGATE_VERSION="${PROJECT_VERSION}")

# Sanitizer flags alone, without Tollgate's warnings, so that third-party code built in-tree
# and linked statically (http-parser where the system has none) is instrumented as well:
# ASan reports overflows only in instrumented code, and a container-overflow check needs
# both sides of a container built the same way.
add_library(tollgate_sanitizers INTERFACE)

if(TOLLGATE_BUILD_FUZZERS AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TOLLGATE_BUILD_FUZZERS needs clang (libFuzzer): "
                        "configure with -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
endif()

if(MSVC)
    target_compile_options(tollgate_flags INTERFACE /W4 /permissive-)
    if(TOLLGATE_WERROR)
        target_compile_options(tollgate_flags INTERFACE /WX)
    endif()
else()
    target_compile_options(tollgate_flags INTERFACE -Wall -Wextra -Wpedantic)
    if(TOLLGATE_WERROR)
        target_compile_options(tollgate_flags INTERFACE -Werror)
    endif()
    # The fuzzers run under ASan and UBSan too, so one sanitized build serves both the fuzzers
    # and the sanitized test suite.
    if(TOLLGATE_WITH_ASAN OR TOLLGATE_BUILD_FUZZERS)
        # Every UB report is fatal (-fno-sanitize-recover), so a test or fuzzer cannot pass
        # with one in its log; frame pointers keep ASan's stack traces whole.
        set(tollgate_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined
                                    -fno-omit-frame-pointer)
        target_compile_options(tollgate_sanitizers INTERFACE ${tollgate_sanitize_flags})
        target_link_options(tollgate_sanitizers INTERFACE -fsanitize=address,undefined)
        # Code that must allow for the sanitizers' slowdown (timing bounds in tests) asks.
        target_compile_definitions(tollgate_sanitizers INTERFACE TOLLGATE_SANITIZED)
        target_link_libraries(tollgate_flags INTERFACE tollgate_sanitizers)
    endif()
    if(TOLLGATE_BUILD_FUZZERS)
        # Coverage instrumentation for libFuzzer in everything the fuzz targets link; only the
        # fuzz targets themselves link libFuzzer's main (-fsanitize=fuzzer, tests/fuzz).
        target_compile_options(tollgate_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
    endif()
endif()
