#pragma once

#include "../http/HeaderList.h"

#include <QByteArray>
#include <QList>

namespace tollgate {

// Decides who a client is from its credential: a Tollgate virtual key (in x-api-key or
// Authorization: Bearer), or, when pass-through is allowed, a credential of its own (a
// Claude subscription's OAuth token) that goes upstream untouched.
class ClientAuthenticator
{
public:
    enum class Result {
        VirtualKey, // swap the credential for the upstream key
        Passthrough, // forward the client's credential as it is
        Missing, // no credential at all
        Rejected, // a credential that is not a virtual key
    };

    ClientAuthenticator(QList<QByteArray> virtualKeys, bool allowPassthrough);

    // For Result::VirtualKey, *keyIndex (when given) is the position of the matching key in
    // the list the authenticator was made with.
    Result authenticate(const HeaderList &headers, qsizetype *keyIndex = nullptr) const;
    // The position of credential among the virtual keys, or -1. Takes the same time
    // wherever (and whether) it matches.
    qsizetype indexOf(const QByteArray &credential) const;
    bool isVirtualKey(const QByteArray &credential) const { return indexOf(credential) >= 0; }

    // True for the headers that carry a client credential.
    static bool isCredentialHeader(const QByteArray &name);

private:
    QList<QByteArray> m_virtualKeys;
    bool m_allowPassthrough;
};

} // namespace tollgate
