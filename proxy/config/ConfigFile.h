#pragma once

#include "config/GatewayConfig.h"

#include <QString>

namespace tollgate {

// The settings file: JSON with snake_case keys, read over the defaults and under the
// command line. It holds aliases and settings, never a secret. Unknown keys and wrong
// types are errors naming the key, so a typo never silently does nothing.
//
//   {
//     "listen": "127.0.0.1", "port": 8787,
//     "upstream": "https://api.anthropic.com", "upstream_ca": "/path/ca.pem",
//     "passthrough_auth": false, "billing_tag": "team-a",
//     "timeouts": {"connect": 10, "first_byte": 600, "idle": 360},
//     "max_body_mib": 32, "max_batch_body_mib": 256,
//     "database": "/path/requests.sqlite" | "postgresql://user@host/db" | "off",
//     "retention_days": 365,
//     "prices": {"my-model": {"input": "3", "output": "15"}}
//   }
class ConfigFile
{
public:
    // ~/.config/Tollgate/tollgate/config.json on Linux (the platform's config directory).
    static QString defaultPath();
    // ~/.local/share/Tollgate/tollgate/requests.sqlite on Linux.
    static QString defaultDatabasePath();

    // Reads the file into config. A missing file is fine when it is the default path
    // (mustExist false): the defaults stand.
    static bool load(const QString &path, bool mustExist, GatewayConfig *config, QString *error);
    // The same, from JSON text; source names it in errors.
    static bool apply(const QByteArray &json, const QString &source, GatewayConfig *config,
                      QString *error);

    // "off", a SQLite file path, or a PostgreSQL connection string.
    static bool parseDatabase(const QString &text, std::optional<StoreConfig> *store,
                              QString *error);
};

} // namespace tollgate
