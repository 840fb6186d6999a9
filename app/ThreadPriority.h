#pragma once

namespace tollgate {

// Lowers the calling thread's CPU priority. The headless app calls it on its main thread
// once the proxy thread runs, so formatting log lines never delays a forwarded byte when
// both share a core.
void lowerCurrentThreadPriority();

} // namespace tollgate
