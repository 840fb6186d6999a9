#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QtGlobal>
#include <cstdint>

// Where a fuzz target cuts its input into the pieces it feeds an incremental parser: a
// deterministic function of the input (so a saved crash replays exactly), mostly small pieces
// (1 to 16 bytes, which split every token and line ending) with now and then a large one.
class SplitPlan
{
public:
    SplitPlan(const uint8_t *data, size_t size)
    {
        // FNV-1a over the input seeds a splitmix64 sequence.
        std::uint64_t hash = 14695981039346656037ull;
        for (size_t i = 0; i < size; ++i)
            hash = (hash ^ data[i]) * 1099511628211ull;
        m_state = hash;
    }

    std::uint64_t next()
    {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // The size of the next piece, at most left (and at least 1 when left > 0).
    qsizetype nextPiece(qsizetype left)
    {
        if (left <= 0)
            return 0;
        const std::uint64_t r = next();
        const qsizetype size =
            (r & 7) == 0 ? qsizetype((r >> 8) % 4096) + 1 : qsizetype((r >> 8) % 16) + 1;
        return size < left ? size : left;
    }

    // Calls feed(piece) for each piece of input, in order: the pieces the plan picks, or the
    // whole input at once without a plan. Each piece is a copy of its own, so ASan sees any
    // read past its end.
    template<typename Feed>
    static void forEachPiece(QByteArrayView input, SplitPlan *plan, Feed &&feed)
    {
        qsizetype at = 0;
        while (at < input.size()) {
            const qsizetype piece = plan ? plan->nextPiece(input.size() - at) : input.size();
            feed(input.sliced(at, piece).toByteArray());
            at += piece;
        }
    }

private:
    std::uint64_t m_state = 0;
};
