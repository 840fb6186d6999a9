#pragma once

#include "CommandLine.h"

namespace tollgate {

// `tollgate vkeys add|list|remove|rotate|set|enable|disable`: the virtual keys Tollgate hands to
// its clients (a person, a project, a CI job), each with its own billing tag, models, limits and
// budget. Tollgate makes each secret itself, keeps it in the OS keychain and prints it once
// (add, rotate); the settings file's "virtual_keys" holds everything else. Returns the
// process exit code.
class VirtualKeysCommand
{
public:
    static int run(const CommandLine &cli);

    // At start: gives each of config->namedVirtualKeys its secret, from TOLLGATE_VIRTUAL_KEYS
    // (fromEnvironment) first and from the keychain for the aliases the variable does not
    // give (no alias left, no keychain access). A key with no secret anywhere is reported and
    // dropped. Prints why and returns false when the keychain cannot be read or the variable
    // names a key the settings do not have.
    static bool loadSecrets(GatewayConfig *config, const QList<UpstreamKey> &fromEnvironment);

private:
    // 0 when the action may go on with cli.keysAlias, else the exit code after saying why.
    static int checkAlias(const CommandLine &cli);
    static int add(const CommandLine &cli);
    static int list(const CommandLine &cli);
    static int remove(const CommandLine &cli);
    static int rotate(const CommandLine &cli);
    static int set(const CommandLine &cli);
    static bool saveKeys(const CommandLine &cli, const QList<VirtualKey> &keys);
};

} // namespace tollgate
