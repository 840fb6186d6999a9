#pragma once

#include "routing/Provider.h"

#include <QDialog>
#include <QJsonObject>
#include <QStringList>
#include <functional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace tollgate {

// Adds or edits a provider of the settings' "providers": name (only when adding), kind,
// base URL, how the key is sent, the aliases of its upstream keys and an environment
// variable with one more, extra headers (one "Name: value" a line) and its own timeouts.
// It never sees a secret. Saving is the caller's: the dialog hands it the settings file's
// entry and stays open with the caller's error (the settings file's own check) when that
// fails, so nothing invalid is ever saved.
class ProviderDialog : public QDialog
{
    Q_OBJECT

public:
    enum class Mode { Add, Edit };
    // Saves the entry under the name; returns why it was not saved, or an empty string.
    using Save = std::function<QString(const QString &name, const QJsonObject &entry)>;

    // provider: the values to start from; takenNames: names a new provider cannot have.
    ProviderDialog(Mode mode, const Provider &provider, const QStringList &takenNames, Save save,
                   QWidget *parent = nullptr);

    QString name() const;
    // The settings file's entry as entered (without "prices", which the dialog does not
    // show); empty when the headers cannot be read.
    QJsonObject entry() const;
    QString errorText() const;

    QLineEdit *nameEdit() const { return m_name; }
    QComboBox *kindBox() const { return m_kind; }
    QLineEdit *baseUrlEdit() const { return m_baseUrl; }
    QComboBox *authBox() const { return m_auth; }
    QLineEdit *keyAliasesEdit() const { return m_keyAliases; }
    QLineEdit *keyVariableEdit() const { return m_keyVariable; }
    QPlainTextEdit *headersEdit() const { return m_headers; }
    QSpinBox *connectTimeoutBox() const { return m_connect; }
    QSpinBox *firstByteTimeoutBox() const { return m_firstByte; }
    QSpinBox *idleTimeoutBox() const { return m_idle; }
    QPushButton *okButton() const { return m_ok; }

    // "HTTP-Referer: https://example.com" lines as a "headers" object; false with the
    // line's problem. The names and values are checked by the settings file.
    static bool parseHeaders(const QString &text, QJsonObject *headers, QString *error);

public slots:
    void accept() override;

private:
    QSpinBox *addTimeoutBox(const QString &accessibleName, int ms);
    void onKindChanged();
    void check();
    QString problem() const;
    void showError(const QString &error);

    Mode m_mode;
    QStringList m_taken;
    Save m_save;
    bool m_isAuthChosen = false;
    QLineEdit *m_name = nullptr;
    QComboBox *m_kind = nullptr;
    QLineEdit *m_baseUrl = nullptr;
    QComboBox *m_auth = nullptr;
    QLineEdit *m_keyAliases = nullptr;
    QLineEdit *m_keyVariable = nullptr;
    QPlainTextEdit *m_headers = nullptr;
    QSpinBox *m_connect = nullptr;
    QSpinBox *m_firstByte = nullptr;
    QSpinBox *m_idle = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_ok = nullptr;
};

} // namespace tollgate
