"""What runs inside an attempt and touches host objects only through views: the compiler,
the budget, views, stdlib values, rendering, the safe builtins and the namespace, facts."""
