package adapter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client drives a child process that speaks the adapter protocol. It sends one request at a time and
// waits for its reply under the caller's context. A child that exits, stops answering or writes a line
// that is not a reply is killed; the request fails with a message saying which (and the tail of the
// child's stderr), and the next request starts a new child. Safe for concurrent use.
type Client struct {
	command string
	env     []string
	log     io.Writer // child's stderr is copied here too (nil: kept only as the tail)

	mu       sync.Mutex
	proc     *process
	nextID   uint64
	starts   int
	lastExit string
}

// NewClient returns a client for the shell command line command ("sh -c command").
func NewClient(command string, stderr io.Writer) *Client {
	return &Client{command: command, log: stderr}
}

// Generation counts child processes started; BDX exchanges die with their child.
func (c *Client) Generation() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts
}

type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []byte
	done  chan struct{} // closed when the child has exited and stdout is drained
	tail  *tailBuffer
	err   error // exit error, valid after done
	gen   int
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	out io.Writer
}

const tailSize = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.out != nil {
		t.out.Write(p)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = t.buf[len(t.buf)-tailSize:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, []byte("?"))))
	if i := strings.LastIndexByte(s, '\n'); len(s) > 400 && i > 0 {
		s = s[max(0, len(s)-400):]
	}
	return s
}

func (c *Client) start() (*process, error) {
	cmd := exec.Command("/bin/sh", "-c", c.command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), c.env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, stdin: stdin, lines: make(chan []byte, 16), done: make(chan struct{}), tail: &tailBuffer{out: c.log}}
	cmd.Stderr = p.tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting adapter %q: %w", c.command, err)
	}
	c.starts++
	p.gen = c.starts
	go func() {
		r := bufio.NewReaderSize(stdout, 64*1024)
		for {
			line, err := readLine(r)
			if err != nil {
				break
			}
			p.lines <- line
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// readLine reads one line of at most MaxLine bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("line longer than %d bytes", MaxLine)
		}
		if !isPrefix {
			return line, nil
		}
	}
}

// kill ends the child's whole process group and waits (bounded) for it.
func (p *process) kill() {
	p.stdin.Close()
	select {
	case <-p.done:
		return
	case <-time.After(200 * time.Millisecond):
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	go func() { // drain so the reader goroutine can finish
		for range p.lines {
		}
	}()
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
}

// Close ends the child: stdin is closed (the child should exit), then the process group is killed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.proc.kill()
		c.proc = nil
	}
	return nil
}

// ErrChild wraps every failure caused by the child process.
var ErrChild = errors.New("adapter process")

// Do sends req and returns its reply. gen, when non-zero, requires the child of that generation (BDX
// exchanges belong to one child).
func (c *Client) Do(ctx context.Context, req Request, gen int) (Reply, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		if gen != 0 {
			return Reply{}, 0, fmt.Errorf("%w: the child that held this exchange is gone (%s)", ErrChild, c.lastExit)
		}
		p, err := c.start()
		if err != nil {
			return Reply{}, 0, fmt.Errorf("%w: %v", ErrChild, err)
		}
		c.proc = p
		if req.Op != "hello" {
			if _, err := c.roundTrip(ctx, Request{Op: "hello", Version: Version}); err != nil {
				return Reply{}, 0, err
			}
		}
	} else if gen != 0 && gen != c.proc.gen {
		return Reply{}, 0, fmt.Errorf("%w: the child that held this exchange was restarted", ErrChild)
	}
	rep, err := c.roundTrip(ctx, req)
	return rep, c.proc0gen(), err
}

func (c *Client) proc0gen() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.gen
}

func (c *Client) roundTrip(ctx context.Context, req Request) (Reply, error) {
	p := c.proc
	if req.Op != "hello" {
		c.nextID++
		req.ID = c.nextID
	}
	line, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	fail := func(format string, args ...any) (Reply, error) {
		msg := fmt.Sprintf(format, args...)
		p.kill()
		c.proc = nil
		exit := "killed"
		select {
		case <-p.done:
			if p.err != nil {
				exit = p.err.Error()
			} else {
				exit = "exit status 0"
			}
		default:
		}
		c.lastExit = msg
		if t := p.tail.String(); t != "" {
			msg += "; its stderr ends with: " + t
		}
		return Reply{}, fmt.Errorf("%w (%s): %s (%s)", ErrChild, c.command, msg, exit)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return fail("cannot write the %s request: %v", req.Op, err)
	}
	select {
	case l, ok := <-p.lines:
		if !ok {
			return fail("closed its stdout (exited?) while handling %s", req.Op)
		}
		var rep Reply
		dec := json.NewDecoder(bytes.NewReader(l))
		if err := dec.Decode(&rep); err != nil {
			return fail("wrote a line that is not a JSON reply to %s: %q", req.Op, clip(l))
		}
		if req.Op != "hello" && rep.ID != req.ID {
			return fail("replied with id %d to request %d (%s)", rep.ID, req.ID, req.Op)
		}
		if req.Op == "hello" && rep.Op != "hello" {
			return fail("answered hello with %q", clip(l))
		}
		if rep.Error != "" {
			return rep, fmt.Errorf("adapter: %s: %s", req.Op, rep.Error)
		}
		return rep, nil
	case <-p.done:
		return fail("exited while handling %s", req.Op)
	case <-ctx.Done():
		return fail("did not answer %s in time: %v", req.Op, ctx.Err())
	}
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(bytes.ToValidUTF8(b[:120], []byte("?"))) + "…"
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
