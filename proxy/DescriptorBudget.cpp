#include "DescriptorBudget.h"

#include <algorithm>
#include <mutex>

#ifndef _WIN32
#include <climits>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {
#ifndef _WIN32
DescriptorBudget reserve()
{
    DescriptorBudget budget;
    rlimit limit = {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return budget;
    const rlim_t wanted = DescriptorBudget::kWantedDescriptors;
    rlim_t ceiling = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(limit.rlim_max, wanted);
#ifdef __APPLE__
    // macOS refuses a soft limit above OPEN_MAX however high the hard limit is.
    ceiling = std::min<rlim_t>(ceiling, OPEN_MAX);
#endif
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < ceiling) {
        rlimit raised = limit;
        raised.rlim_cur = ceiling;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    const auto clamp = [](rlim_t value) {
        return value == RLIM_INFINITY ? DescriptorBudget::kWantedDescriptors
                                      : int(std::min<rlim_t>(value, 1 << 30));
    };
    budget.softLimit = clamp(limit.rlim_cur);
    budget.hardLimit = clamp(limit.rlim_max);
    // Occupying the highest descriptor the budget allows makes the kernel size the table
    // for all of them; closing it again keeps the table.
    const int highest = std::min(budget.softLimit, DescriptorBudget::kWantedDescriptors) - 1;
    if (highest > 2) {
        const int placeholder = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (placeholder >= 0) {
            const int top = fcntl(placeholder, F_DUPFD_CLOEXEC, highest);
            if (top >= 0) {
                budget.tableSize = top + 1;
                ::close(top);
            }
            ::close(placeholder);
        }
    }
    return budget;
}
#else
DescriptorBudget reserve()
{
    return {};
}
#endif
} // namespace

DescriptorBudget reserveDescriptors()
{
    static std::once_flag once;
    static DescriptorBudget budget;
    std::call_once(once, [] { budget = reserve(); });
    return budget;
}

} // namespace tollgate
