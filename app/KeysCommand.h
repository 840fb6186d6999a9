#pragma once

#include "CommandLine.h"

#include <QProcessEnvironment>

namespace tollgate {

// `tollgate keys add|list|remove|test`: upstream API keys in the OS keychain. The key is
// read from standard input (without echo on a terminal), never from the command line; the
// settings file gets the alias only. Returns the process exit code.
class KeysCommand
{
public:
    static int run(const CommandLine &cli);

    // At start: reads the secrets of the settings' "upstream_keys" from the keychain into
    // config->upstreamKeys, ahead of keys from the environment or a key file. Prints why and
    // returns false when the keychain cannot be read; an alias missing from the keychain is
    // reported and skipped.
    static bool loadKeychainKeys(GatewayConfig *config);
    // Then: gives each provider of the settings the keys it names, taken out of the built-in
    // pool (an alias a provider names serves only that provider), read from the keychain
    // when the settings do not already have them, and the key in its "key_env" variable.
    // Prints why and returns false when the keychain cannot be read; a key found nowhere is
    // reported and the provider goes without it.
    static bool assignProviderKeys(GatewayConfig *config, const QProcessEnvironment &environment);

private:
    static int add(const CommandLine &cli);
    static int list(const CommandLine &cli);
    static int remove(const CommandLine &cli);
    static int test(const CommandLine &cli);
    static bool saveAliases(const CommandLine &cli, const QStringList &aliases);
};

} // namespace tollgate
