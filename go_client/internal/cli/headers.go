package cli

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/metadata"
)

// parseHeader reads one -H value, "key: value" or "key:value", as curl and
// grpcurl take it. gRPC metadata keys are lowercase ASCII letters, digits and
// "-_."; keys starting with "grpc-" are reserved for gRPC itself.
func parseHeader(h string) (key, value string, err error) {
	k, v, ok := strings.Cut(h, ":")
	key = strings.ToLower(strings.TrimSpace(k))
	if !ok || key == "" {
		return "", "", fmt.Errorf("header %q is not key:value", h)
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)) {
			return "", "", fmt.Errorf("header key %q may only hold letters, digits and -_.", key)
		}
	}
	if strings.HasPrefix(key, "grpc-") {
		return "", "", fmt.Errorf("header key %q is reserved for gRPC", key)
	}
	return key, strings.TrimSpace(v), nil
}

// requestMetadata builds the metadata sent with every call: the -H headers in
// order, then the token as a bearer authorization.
func requestMetadata(headers []string, token string) (metadata.MD, error) {
	md := metadata.MD{}
	for _, h := range headers {
		k, v, err := parseHeader(h)
		if err != nil {
			return nil, err
		}
		md.Append(k, v)
	}
	if token != "" {
		if len(md.Get("authorization")) > 0 {
			return nil, fmt.Errorf("give the token with --token or -H authorization, not both")
		}
		md.Append("authorization", "Bearer "+token)
	}
	return md, nil
}
