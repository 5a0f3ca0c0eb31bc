package dap

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadMessage feeds the reader whatever a client might send: it must
// return a message or an error, never panic, and name the request of any
// framed message it cannot decode.
func FuzzReadMessage(f *testing.F) {
	for _, s := range []string{
		"Content-Length: 2\r\n\r\n{}",
		"Content-Length: 45\r\n\r\n{\"seq\":1,\"type\":\"request\",\"command\":\"fly\"}  ",
		"Content-Length: 62\r\n\r\n" +
			"{\"seq\":1,\"type\":\"request\",\"command\":\"launch\",\"arguments\":7}",
		"Content-Length: 9\r\n\r\n{not json",
		"Content-Length: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 4; i++ {
			msg, bad, err := readMessage(r)
			if err == nil && msg == nil {
				t.Fatal("no message and no error")
			}
			if err != nil && bad == nil {
				return
			}
		}
	})
}
