#pragma once

#include "http/HeaderList.h"

#include <QByteArray>
#include <QList>

namespace tollgate {

// Keeps credentials out of everything Tollgate shows or writes: masks a key for display
// (`sk-ant-…abcd`), masks the credential headers of a header block, and redacts keys
// from free text such as a logged body.
class SecretRedactor
{
public:
    // The known secrets (upstream keys, virtual keys) are redacted wherever they appear,
    // besides anything shaped like an Anthropic or Tollgate key.
    explicit SecretRedactor(QList<QByteArray> knownSecrets = {});

    // "sk-ant-api03-…abcd": the key's kind and last four characters, never enough to use.
    static QByteArray mask(const QByteArray &secret);
    // "Name: value\r\n" lines; x-api-key, Authorization, Proxy-Authorization and Cookie
    // values masked (an Authorization scheme such as "Bearer" stays readable).
    static QByteArray maskedHeaderLines(const HeaderList &headers);
    static bool isCredentialHeader(const QByteArray &name);

    QByteArray redact(const QByteArray &text) const;

private:
    QList<QByteArray> m_knownSecrets;
};

} // namespace tollgate
