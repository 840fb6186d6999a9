#pragma once

#include <QtGlobal>
#include <chrono>

namespace tollgate {

// Microseconds on a steady clock: request timings and timeouts never jump with wall time.
inline qint64 monotonicUs()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

} // namespace tollgate
