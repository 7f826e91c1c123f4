Local policy for mandate: files named *.toml (policy documents) or *.bundle
(signed bundles) in this directory form the `system` source. They apply in
lexical order, a later file ranking above an earlier one. Each must be owned
by root and not writable by group or others. See `mandate validate FILE` and
/usr/share/doc/mandate/.
