# Compiler settings shared by every Tollgate target: an INTERFACE target the others link.
add_library(tollgate_flags INTERFACE)
target_compile_definitions(tollgate_flags INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_URL_CAST_FROM_STRING
    QT_USE_QSTRINGBUILDER
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
    TOLLGATE_VERSION="${PROJECT_VERSION}")
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
    if(TOLLGATE_WITH_ASAN)
        target_compile_options(tollgate_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
        target_link_options(tollgate_flags INTERFACE -fsanitize=address,undefined)
    endif()
endif()
