#pragma once

#include <QString>
#include <cstdio>

namespace tollgate {

// The console commands' output: a line on standard output, or an error line on standard
// error prefixed with the program's name.
inline void printOut(const QString &text)
{
    std::fprintf(stdout, "%s\n", qPrintable(text));
}

inline void printError(const QString &text)
{
    std::fprintf(stderr, "tollgate: %s\n", qPrintable(text));
}

} // namespace tollgate
