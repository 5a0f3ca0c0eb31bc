package runtime

// Version names this runtime's behaviour. Checkpoints are stamped with it; a
// change in anything a replay could observe (a global, an ordering, a record's
// shape) must change it, so that `replay --upgrade` checks history first.
var Version = "0.1.0"
