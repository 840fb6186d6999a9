# HTTP/1.1 parsing uses nodejs/http-parser 2.9 (Debian: libhttp-parser-dev). Where the
# system has no copy (Windows, macOS without Homebrew's), the same release is fetched and
# built as a static library.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h)
find_library(HTTP_PARSER_LIBRARY NAMES http_parser libhttp_parser)

if(HTTP_PARSER_INCLUDE_DIR AND HTTP_PARSER_LIBRARY)
    add_library(http_parser UNKNOWN IMPORTED)
    set_target_properties(http_parser PROPERTIES
        IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")
    message(STATUS "http-parser: ${HTTP_PARSER_LIBRARY}")
else()
    include(FetchContent)
    FetchContent_Declare(http_parser_src
        URL https://github.com/nodejs/http-parser/archive/refs/tags/v2.9.4.tar.gz)
    FetchContent_MakeAvailable(http_parser_src)
    add_library(http_parser STATIC ${http_parser_src_SOURCE_DIR}/http_parser.c)
    target_include_directories(http_parser PUBLIC ${http_parser_src_SOURCE_DIR})
    set_target_properties(http_parser PROPERTIES POSITION_INDEPENDENT_CODE ON)
    # Linked statically into Tollgate: a sanitized build instruments it too.
    target_link_libraries(http_parser PRIVATE tollgate_sanitizers)
    message(STATUS "http-parser: built from ${http_parser_src_SOURCE_DIR}")
endif()
