#pragma once

#include "CommandLine.h"

namespace tollgate {

// `tollgate report` and `tollgate export`: read the request log the gateway writes and
// print totals or rows. Returns the process exit code.
class LedgerCommand
{
public:
    static int run(const CommandLine &cli);

private:
    static int report(const CommandLine &cli);
    static int exportRows(const CommandLine &cli);
};

} // namespace tollgate
