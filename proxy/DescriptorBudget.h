#pragma once

namespace tollgate {

// Open-file budget of the process. Every proxied stream holds two descriptors (client and
// upstream), so the common soft limit of 1024 (Linux desktops) or 256 (macOS) caps a
// gateway at a few hundred concurrent streams. The proxy therefore:
//  - raises the soft limit to the hard limit, at most kWantedDescriptors;
//  - grows the kernel's descriptor table to that size at once. Linux grows the table by
//    doubling when a new descriptor needs room, and in a process with more than one thread
//    each growth waits for an RCU grace period (fs/file.c, expand_fdtable()), which stalls
//    the thread that opened the socket for milliseconds, in the middle of a burst of new
//    connections. Grown before the first thread starts, the table never has to grow
//    again and that wait never happens.
// Call reserveDescriptors() first thing in main(), before any thread exists; Gateway calls
// it too (then it may cost one grace period, once). Idempotent and thread-safe; a no-op on
// Windows, where sockets are not file descriptors.
struct DescriptorBudget
{
    static constexpr int kWantedDescriptors = 8192;

    int softLimit = 0; // after raising; 0 where there is no such limit
    int hardLimit = 0;
    int tableSize = 0; // descriptors the table was grown to hold
};

DescriptorBudget reserveDescriptors();

} // namespace tollgate
