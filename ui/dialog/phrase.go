// Package dialog holds the dashboard's modal dialogs for actions: the
// confirmation of a planned action and the minReplicas prompt. A dialog is
// a value: it takes keys, says what the user answered and draws its content
// lines; the root model places them on the screen and runs the commands. It
// performs no I/O.
package dialog

import (
	"fmt"
	"strings"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources/clean"
)

// Phrase is how one request reads in the dialog, the footer and the
// notices, so the three always name the action the same way.
type Phrase struct {
	// Title heads the dialog: "Roll back fraud-detector".
	Title string
	// Action is the same in a sentence: "roll back fraud-detector".
	Action string
	// Doing is the footer's progress lead: "rolling back fraud-detector".
	Doing string
	// Question is the confirmation: "Roll back now?".
	Question string
}

// Describe phrases a request. The service name comes from the cluster, so
// it is cleaned before it can reach the terminal.
func Describe(r actions.Request) Phrase {
	name := clean.Text(r.Name)
	switch r.Kind {
	case actions.Promote:
		return phrase("promote "+name, "promoting "+name, "Promote now?")
	case actions.Rollback:
		if r.ToPreviousModel {
			return phrase("roll back "+name+" to the previous model", "rolling back "+name, "Roll back now?")
		}
		return phrase("roll back "+name, "rolling back "+name, "Roll back now?")
	case actions.Pin:
		if r.Unpin {
			return phrase("unpin minReplicas of "+name, "unpinning minReplicas of "+name, "Unpin now?")
		}
		n := PinValue(r)
		return phrase(fmt.Sprintf("pin minReplicas of %s to %d", name, n),
			fmt.Sprintf("pinning minReplicas of %s to %d", name, n), "Pin now?")
	}
	kind := clean.Text(string(r.Kind))
	return phrase(kind+" "+name, kind+" "+name, "Apply now?")
}

func phrase(action, doing, question string) Phrase {
	return Phrase{Title: capitalise(action), Action: action, Doing: doing, Question: question}
}

// PinValue is the minReplicas a pin request sets: the contract reads 0 as
// the default, 1.
func PinValue(r actions.Request) int {
	if r.MinReplicas <= 0 {
		return 1
	}
	return r.MinReplicas
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
