#pragma once

#include "config/GatewayConfig.h"

#include <QByteArray>
#include <QCoreApplication>

class QMessageBox;
class QWidget;

namespace tollgate {

class DesktopSettings;
class KeysPage;

// The first start's offer to take over the Anthropic API key a developer usually already
// has in ANTHROPIC_API_KEY: when no upstream key is configured at all, Tollgate asks once
// (whatever the answer, it never asks again) whether to store that key in the system
// keychain as "imported". The key is never logged or shown, only its masked form.
class KeyImportOffer
{
    Q_DECLARE_TR_FUNCTIONS(tollgate::KeyImportOffer)

public:
    static constexpr QLatin1StringView kAlias {"imported"};
    static constexpr QLatin1StringView kVariable {"ANTHROPIC_API_KEY"};

    // An Anthropic API key ("sk-ant-api03-…"): "sk-ant-" and printable ASCII without
    // spaces. Claude subscription tokens ("sk-ant-oat…") are not API keys.
    static bool looksLikeApiKey(const QByteArray &key);
    // Ask when nothing gives an upstream key (no "upstream_keys", none from the
    // environment or a key file), the variable holds an API key, and it was never asked.
    static bool shouldOffer(const GatewayConfig &config, const QByteArray &environmentKey,
                            bool wasOffered);

    // Asks without blocking when shouldOffer() says so, and returns the question (null
    // when not asking). Yes stores the key through the Keys page (keychain, settings,
    // running gateway); the settings remember that the question was answered.
    static QMessageBox *offer(const GatewayConfig &config, DesktopSettings *settings,
                              KeysPage *page, QWidget *parent,
                              const QByteArray &environmentKey = qgetenv("ANTHROPIC_API_KEY"));
};

} // namespace tollgate
