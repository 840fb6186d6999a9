#pragma once

#include "CommandLine.h"

namespace tollgate {

// `tollgate routes list` prints the providers and the ordered rules of the settings file;
// `tollgate routes test MODEL` shows which rule takes a request for MODEL and where it
// goes, rule by rule. Returns the process exit code.
class RoutesCommand
{
public:
    static int run(const CommandLine &cli);

private:
    static int list(const CommandLine &cli);
    static int test(const CommandLine &cli);
};

} // namespace tollgate
