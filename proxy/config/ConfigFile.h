#pragma once

#include "config/GatewayConfig.h"

#include <QJsonObject>
#include <QString>

namespace tollgate {

// The settings file: JSON with snake_case keys, read over the defaults and under the
// command line. It holds aliases and settings, never a secret. Unknown keys and wrong
// types are errors naming the key, so a typo never silently does nothing.
//
//   {
//     "listen": "127.0.0.1", "port": 8787,
//     "allow_remote": false, "allowed_hosts": ["tollgate.example.com"],
//     "upstream": "https://api.anthropic.com", "upstream_ca": "/path/ca.pem",
//     "passthrough_auth": false, "billing_tag": "team-a",
//     "timeouts": {"connect": 10, "first_byte": 600, "idle": 360,
//                  "header": 30, "body": 30, "keep_alive": 120},
//     "max_body_mib": 32, "max_batch_body_mib": 256,
//     "database": "/path/requests.sqlite" | "postgresql://user@host/db" | "off",
//     "retention_days": 365,
//     "body_log_kib": 0,
//     "prices_file": "/path/my-prices.json",
//     "prices": {"my-model": {"input": "3", "output": "15"}},
//     "upstream_keys": ["work", "ci"], "key_strategy": "round-robin",
//     "session_affinity": false,
//     "limits": {"requests_per_minute": 300, "input_tokens_per_minute": 0,
//                "output_tokens_per_minute": 0, "concurrent_streams": 0},
//     "budget": {"daily_usd": 20, "monthly_usd": 400},
//     "tag_budgets": {"team-a": {"daily_usd": 50, "monthly_usd": 1000}},
//     "virtual_keys": {"alice": {"billing_tag": "team-a", "models": ["claude-*"],
//                                "limits": {...}, "budget": {...}, "enabled": true}},
//     "prompt_cache": {"inject": true, "ttl": "5m"},
//     "providers": {"openrouter": {"kind": "openai",
//                                  "base_url": "https://openrouter.ai/api/v1",
//                                  "auth": "bearer", "keys": ["or-main"],
//                                  "key_env": "OPENROUTER_API_KEY",
//                                  "headers": {"X-Title": "Tollgate"},
//                                  "timeouts": {"connect": 10, "first_byte": 120,
//                                               "idle": 120},
//                                  "prices": {"openai/gpt-5": {"input": "1.25",
//                                                              "output": "10"}}}},
//     "routes": [{"model": "gpt-*", "provider": "openrouter", "fallback": ["anthropic"],
//                 "rewrite_model": "openai/gpt-5", "virtual_key": "ci",
//                 "thinking": false, "min_prompt_tokens": 0}],
//     "cors_origins": ["https://app.example.com"]
//   }
//
// "limits" and "budget" belong to the default virtual key (the key file's or
// --virtual-key); each of "virtual_keys" has its own (its secret is in the keychain,
// `tollgate vkeys add ALIAS` makes one). "tag_budgets" caps the spend of a billing tag
// over every key that uses it.
//
// A "listen" address other than loopback needs "allow_remote": true (and virtual keys: no
// "passthrough_auth"); requests must then name the listener in Host: its address, or one
// of "allowed_hosts" (host names or addresses, each with an optional :port).
//
// "upstream_keys" are aliases: the keys themselves are in the OS keychain (`tollgate keys
// add ALIAS` puts them there and lists the alias here).
//
// "routes" are tried in order and the first whose conditions all hold sends the request to
// its "provider" (then to each of "fallback" when one answers 429 or 5xx before its first
// byte); a request no rule takes goes to the built-in "anthropic" provider, which is
// "upstream" with "upstream_keys". A provider's "keys" are upstream key aliases like those
// of "upstream_keys" (keychain, TOLLGATE_UPSTREAM_KEYS or the key file).
//
// "prices_file" names a JSON file of price overrides, kept apart so a team can share one:
// either a copy of prices.json (its "models" object is read) or an object of model entries
// as in "prices". Entries of "prices" win over the file's, field by field.
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

    // The model entries of a prices file (see "prices_file" above), unchecked against the
    // price table. The path must be absolute: a relative one would depend on the directory
    // the app happened to start in.
    static bool readPricesFile(const QString &path, QJsonObject *models, QString *error);

    // The file's JSON object as it stands, for an editor that shows and changes it. A
    // missing file gives an empty object; a file that is not a JSON object is an error.
    static bool read(const QString &path, QJsonObject *settings, QString *error);

    // A virtual key's entry of "virtual_keys" (everything but the secret), as apply() reads
    // it back; and the whole "virtual_keys" object for a list of keys.
    static QJsonObject virtualKeyJson(const VirtualKey &key);
    static QJsonObject virtualKeysJson(const QList<VirtualKey> &keys);

    // Writes changed settings back: each key of changes replaces that key of the file's
    // object (a null value removes it, so the default applies again); every other key is
    // kept as it is, including "prices" and keys of a newer version this one does not know
    // (keys come out in alphabetical order, as QJsonObject keeps them). Every key of changes
    // must be one this version knows.
    // The merged settings must pass apply() (keys this version does not know are left to
    // the version that wrote them); otherwise, or when the file is not a JSON object, the
    // file is left untouched and *error says why. The write is atomic (a crash leaves the
    // old or the new file, never a mix), creates the directory, and leaves the file
    // readable by its owner only, since "database" may hold a PostgreSQL password.
    static bool save(const QString &path, const QJsonObject &changes, QString *error);
};

} // namespace tollgate
