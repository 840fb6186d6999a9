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

    Result authenticate(const HeaderList &headers) const;
    bool isVirtualKey(const QByteArray &credential) const;

    // True for the headers that carry a client credential.
    static bool isCredentialHeader(const QByteArray &name);

private:
    QList<QByteArray> m_virtualKeys;
    bool m_allowPassthrough;
};

} // namespace tollgate
