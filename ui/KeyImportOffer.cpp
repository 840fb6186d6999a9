#include "KeyImportOffer.h"

#include "DesktopSettings.h"
#include "KeysPage.h"
#include "keys/SecretRedactor.h"

#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <algorithm>

namespace tollgate {

bool KeyImportOffer::looksLikeApiKey(const QByteArray &key)
{
    return key.startsWith("sk-ant-") && !key.startsWith("sk-ant-oat") && key.size() > 20
        && std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c <= '~'; });
}

bool KeyImportOffer::shouldOffer(const GatewayConfig &config, const QByteArray &environmentKey,
                                 bool wasOffered)
{
    return !wasOffered && config.keychainKeys.isEmpty() && config.allUpstreamKeys().isEmpty()
        && looksLikeApiKey(environmentKey.trimmed());
}

QMessageBox *KeyImportOffer::offer(const GatewayConfig &config, DesktopSettings *settings,
                                   KeysPage *page, QWidget *parent,
                                   const QByteArray &environmentKey)
{
    const QByteArray key = environmentKey.trimmed();
    if (!settings || !page || !shouldOffer(config, key, settings->hasOfferedKeyImport()))
        return nullptr;
    auto *box = new QMessageBox(
        QMessageBox::Question, tr("Use your Anthropic API key?"),
        tr("Tollgate has no upstream API key yet. %1 holds one (%2).\n\nStore it in the system "
           "keychain as \"%3\", so that Tollgate sends your requests with it? You can add, test "
           "or remove keys on the Keys page at any time.")
            .arg(kVariable, QString::fromUtf8(SecretRedactor::mask(key)), kAlias),
        QMessageBox::NoButton, parent);
    QPushButton *yes = box->addButton(tr("Store in keychain"), QMessageBox::YesRole);
    box->addButton(tr("Not now"), QMessageBox::NoRole);
    box->setDefaultButton(yes);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPointer<KeysPage> target(page);
    QPointer<DesktopSettings> remember(settings);
    QObject::connect(box, &QMessageBox::buttonClicked, box,
                     [yes, key, target, remember](QAbstractButton *clicked) {
                         if (remember)
                             remember->setOfferedKeyImport(true);
                         if (clicked == yes && target)
                             target->storeUpstreamKey(QString(kAlias), key);
                     });
    box->open();
    return box;
}

} // namespace tollgate
