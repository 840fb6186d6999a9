#pragma once

#include "store/StoreConfig.h"

#include <QList>
#include <QStringList>

namespace tollgate {

// The request log's schema as versioned migrations, the same logical tables on every
// backend in each one's own DDL. A released migration never changes: a new version of the
// schema is a new migration at the end of the list. LedgerStore applies them and records
// each in `schema_migrations`.
class LedgerSchema
{
public:
    struct Migration
    {
        int version = 0;
        QStringList statements; // run in one transaction, in this order
    };

    // Ascending by version, starting at 1.
    static QList<Migration> migrations(StoreConfig::Backend backend);
    static int latestVersion();
};

} // namespace tollgate
