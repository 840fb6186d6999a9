#pragma once

#include "keys/VirtualKey.h"

#include <QDialog>
#include <QStringList>

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace tollgate {

// Creates or edits a virtual key's settings: alias (only when creating), billing tag,
// allowed models, limits, daily and monthly budget, whether Tollgate adds prompt-cache
// markers to its requests, and whether it is on. It never sees a
// secret: the page makes one once the dialog is accepted.
class VirtualKeyDialog : public QDialog
{
    Q_OBJECT

public:
    enum class Mode { Create, Edit };

    // key: the values to start from (an existing key when editing); takenAliases: aliases
    // a new key cannot have.
    VirtualKeyDialog(Mode mode, const VirtualKey &key, const QStringList &takenAliases,
                     QWidget *parent = nullptr);

    // The values as entered, secret left empty.
    VirtualKey key() const;
    QString errorText() const;

    QLineEdit *aliasEdit() const { return m_alias; }
    QLineEdit *tagEdit() const { return m_tag; }
    QLineEdit *modelsEdit() const { return m_models; }
    QSpinBox *requestsPerMinuteBox() const { return m_requests; }
    QSpinBox *inputTokensPerMinuteBox() const { return m_inputTokens; }
    QSpinBox *outputTokensPerMinuteBox() const { return m_outputTokens; }
    QSpinBox *streamsBox() const { return m_streams; }
    QDoubleSpinBox *dailyBudgetBox() const { return m_daily; }
    QDoubleSpinBox *monthlyBudgetBox() const { return m_monthly; }
    QCheckBox *enabledBox() const { return m_enabled; }
    QCheckBox *cacheMarkersBox() const { return m_injectsCache; }
    QPushButton *okButton() const { return m_ok; }

    // "claude-*, *haiku*" (commas or spaces) as a list of patterns.
    static QStringList parseModels(const QString &text);

signals:
    void keyEntered(const tollgate::VirtualKey &key);

public slots:
    void accept() override;

private:
    QSpinBox *addCountBox(const QString &accessibleName, qint64 value, qint64 maximum);
    QDoubleSpinBox *addUsdBox(const QString &accessibleName, qint64 picoUsd);
    void check();
    QString problem() const;

    Mode m_mode;
    QStringList m_taken;
    QLineEdit *m_alias = nullptr;
    QLineEdit *m_tag = nullptr;
    QLineEdit *m_models = nullptr;
    QSpinBox *m_requests = nullptr;
    QSpinBox *m_inputTokens = nullptr;
    QSpinBox *m_outputTokens = nullptr;
    QSpinBox *m_streams = nullptr;
    QDoubleSpinBox *m_daily = nullptr;
    QDoubleSpinBox *m_monthly = nullptr;
    QCheckBox *m_enabled = nullptr;
    QCheckBox *m_injectsCache = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_ok = nullptr;
};

} // namespace tollgate
