#pragma once

#include "BudgetGuard.h"
#include "RateLimiter.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace tollgate {

// A key Tollgate hands to one of its clients (a person, a project, a CI job), with what
// that client may do. The settings file holds everything but the secret, which lives in
// the OS keychain ("virtual/<alias>") and in memory while the gateway runs; the request
// log names the alias only.
struct VirtualKey
{
    // The built-in key of a single-user install (the virtual-key file) and of --virtual-key.
    static constexpr QLatin1String kDefaultAlias {"default"};

    QString alias;
    QByteArray secret;
    QString billingTag; // a request's x-tollgate-tag wins
    // Model globs (`claude-*`, `*haiku*`); empty allows every model.
    QStringList models;
    RateLimiter::Limits limits;
    BudgetGuard::Caps budget;
    bool isEnabled = true;
    bool injectsCache = true; // prompt-cache injection for this key's requests

    // Whether a request for model may use this key ("*" and "?" wildcards, case-sensitive
    // as model ids are). A request without a model (count_tokens, models, batches) passes
    // when the list is empty, and otherwise only where the endpoint names no model.
    bool allowsModel(const QString &model) const;
    static bool globMatches(QStringView pattern, QStringView text);

    // KeyStore::aliasProblem(), and "default" and "passthrough" are taken: the request log
    // uses them for the built-in key and for clients' own credentials.
    static QString aliasProblem(const QString &alias);

    // "tg-" + 32 bytes from the system's secure random source in base62 (43 characters).
    static QByteArray generateSecret();
    // Whether text has the shape generateSecret() gives.
    static bool isGeneratedShape(const QByteArray &text);
};

} // namespace tollgate
