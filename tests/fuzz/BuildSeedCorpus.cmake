# Assembles the seed corpus of each fuzz target from the test fixtures and tests/fuzz/seeds:
#   cmake -DSOURCE_DIR=<checkout> -DOUTPUT_DIR=<dir> -P BuildSeedCorpus.cmake
# <dir>/<target>/ gets one file per seed. The HTTP seeds are whole requests: the method, URL
# and headers Claude Code sent (tests/fixtures/claude-code/*.request.json) with its bodies,
# whole, chunked, with a small body, and pipelined after its HEAD probe.
cmake_minimum_required(VERSION 3.21)
set(tests ${SOURCE_DIR}/tests)
set(claude ${tests}/fixtures/claude-code)
set(translate ${tests}/fixtures/translate)
file(REMOVE_RECURSE ${OUTPUT_DIR})

# copy_seeds(<target> <glob>...): the files keep their path below tests/ in their name.
function(copy_seeds target)
    file(MAKE_DIRECTORY ${OUTPUT_DIR}/${target})
    foreach(glob IN LISTS ARGN)
        file(GLOB files ${glob})
        foreach(file IN LISTS files)
            file(RELATIVE_PATH name ${tests} ${file})
            string(REPLACE "/" "_" name ${name})
            file(COPY_FILE ${file} ${OUTPUT_DIR}/${target}/${name})
        endforeach()
    endforeach()
endfunction()

# The request line and header block of a *.request.json fixture, without its Content-Length
# (the caller frames the body it attaches); extra_headers (a list) are added at the end.
function(request_head request_json out_var)
    file(READ ${request_json} json)
    string(JSON method GET "${json}" method)
    string(JSON url GET "${json}" url)
    string(JSON count LENGTH "${json}" headers)
    set(head "${method} ${url} HTTP/1.1\r\n")
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
        string(JSON name MEMBER "${json}" headers ${i})
        string(JSON value GET "${json}" headers ${name})
        if(NOT name STREQUAL "content-length")
            string(APPEND head "${name}: ${value}\r\n")
        endif()
    endforeach()
    foreach(header IN LISTS ARGN)
        string(APPEND head "${header}\r\n")
    endforeach()
    set(${out_var} "${head}" PARENT_SCOPE)
endfunction()

function(with_length head body out_var)
    string(LENGTH "${body}" length)
    set(${out_var} "${head}content-length: ${length}\r\n\r\n${body}" PARENT_SCOPE)
endfunction()

# The body in two chunks, the first with a chunk extension, and a trailer.
function(chunked head body out_var)
    string(LENGTH "${body}" length)
    math(EXPR first "${length} / 2")
    math(EXPR second "${length} - ${first}")
    string(SUBSTRING "${body}" 0 ${first} part1)
    string(SUBSTRING "${body}" ${first} ${second} part2)
    math(EXPR hex1 "${first}" OUTPUT_FORMAT HEXADECIMAL)
    math(EXPR hex2 "${second}" OUTPUT_FORMAT HEXADECIMAL)
    string(SUBSTRING ${hex1} 2 -1 hex1)
    string(SUBSTRING ${hex2} 2 -1 hex2)
    set(${out_var}
        "${head}transfer-encoding: chunked\r\n\r\n${hex1};x=1\r\n${part1}\r\n${hex2}\r\n${part2}\r\n0\r\nx-trailer: 1\r\n\r\n"
        PARENT_SCOPE)
endfunction()

set(http ${OUTPUT_DIR}/http_request)
copy_seeds(http_request ${tests}/fuzz/seeds/http_request/*)
file(READ ${translate}/anthropic-to-openai/request-text.in.json small_body)
request_head(${claude}/say-hi.probe.request.json probe)
file(WRITE ${http}/say-hi.probe.http "${probe}\r\n")
file(GLOB requests ${claude}/*.turn*.request.json)
foreach(request IN LISTS requests)
    get_filename_component(stem ${request} NAME)
    string(REPLACE ".request.json" "" stem ${stem})
    file(READ ${claude}/${stem}.body.json body)
    request_head(${request} head)
    with_length("${head}" "${body}" whole)
    file(WRITE ${http}/${stem}.http "${whole}")
    chunked("${head}" "${body}" whole_chunked)
    file(WRITE ${http}/${stem}.chunked.http "${whole_chunked}")
    with_length("${head}" "${small_body}" small)
    file(WRITE ${http}/${stem}.small.http "${small}")
    chunked("${head}" "${small_body}" small_chunked)
    file(WRITE ${http}/${stem}.small-chunked.http "${small_chunked}")
    file(WRITE ${http}/${stem}.after-probe.http "${probe}\r\n${small}")
endforeach()
request_head(${claude}/say-hi.turn1.request.json expect "expect: 100-continue")
with_length("${expect}" "${small_body}" expect)
file(WRITE ${http}/say-hi.expect.http "${expect}")

copy_seeds(sse_parser ${tests}/fuzz/seeds/sse_parser/* ${claude}/*.sse ${translate}/*/*.sse)
copy_seeds(json_reader ${tests}/fuzz/seeds/json_reader/* ${claude}/*.json ${translate}/*/*.json)
copy_seeds(cache_injector ${tests}/fuzz/seeds/cache_injector/* ${claude}/*.body.json
           ${translate}/anthropic-to-openai/request-*.in.json)
# Anthropic surface: Messages requests in, the vendor's chat.completion responses back.
copy_seeds(messages_to_chat ${claude}/*.body.json ${translate}/anthropic-to-openai/request-*.in.json
           ${translate}/anthropic-to-openai/response-*.in.json)
# OpenAI surface: chat-completions requests in, Anthropic Messages back.
copy_seeds(chat_to_messages ${translate}/openai-to-anthropic/request-*.in.json
           ${translate}/openai-to-anthropic/response-*.in.json)
# Vendors' chunk streams, and Anthropic's event streams.
copy_seeds(chat_stream_to_messages ${translate}/anthropic-to-openai/stream-*.in.sse
           ${translate}/openai-to-anthropic/stream-*.out.sse)
copy_seeds(messages_stream_to_chat ${translate}/openai-to-anthropic/stream-*.in.sse
           ${translate}/anthropic-to-openai/stream-*.out.sse ${claude}/*.sse)
